#include "controllers/rl_controller.h"

#include <sstream>

#include "common/config_fields.h"
#include "common/json_reader.h"
#include "common/random.h"
#include "controllers/base64.h"

namespace frostnas {

ControllerNetImpl::ControllerNetImpl(const std::vector<Decision>& decisions,
                                     const RLControllerOptions& options)
    : decisions_(decisions), options_(options) {
  const int64_t h = options.hidden();
  lstm_ = register_module("lstm", torch::nn::LSTMCell(h, h));
  start_ = register_parameter("start", torch::zeros({1, h}));
  for (size_t d = 0; d < decisions.size(); ++d) {
    const int64_t n = static_cast<int64_t>(decisions[d].options.size());
    embeddings_.push_back(register_module("embed" + std::to_string(d), torch::nn::Embedding(n, h)));
    heads_.push_back(register_module("head" + std::to_string(d), torch::nn::Linear(h, n)));
  }
}

torch::Tensor ControllerNetImpl::logits(size_t d, const torch::Tensor& h) {
  const auto raw = heads_[d]->forward(h);
  return options_.tanh_c() * torch::tanh(raw / options_.temperature());
}

Choices ControllerNetImpl::sample(std::mt19937_64& rng) {
  torch::NoGradGuard no_grad;
  Choices choices;
  auto x = start_;
  std::tuple<torch::Tensor, torch::Tensor> state = lstm_->forward(x);
  for (size_t d = 0; d < decisions_.size(); ++d) {
    if (d > 0) state = lstm_->forward(x, state);
    const auto probs = torch::softmax(logits(d, std::get<0>(state)), 1).to(torch::kDouble);
    // Inverse CDF with the controller's own portable stream.
    const double u = uniform_real(rng);
    const auto p = probs.accessor<double, 2>();
    int64_t pick = p.size(1) - 1;
    double acc = 0.0;
    for (int64_t i = 0; i < p.size(1); ++i) {
      acc += p[0][i];
      if (u < acc) {
        pick = i;
        break;
      }
    }
    choices.push_back(pick);
    x = embeddings_[d]->forward(torch::tensor({pick}));
  }
  return choices;
}

std::pair<torch::Tensor, torch::Tensor> ControllerNetImpl::log_prob_and_entropy(
    const Choices& choices) {
  TORCH_CHECK(choices.size() == decisions_.size(), "ControllerNet: expected ", decisions_.size(),
              " choices, got ", choices.size());
  auto log_prob = torch::zeros({});
  auto entropy = torch::zeros({});
  auto x = start_;
  std::tuple<torch::Tensor, torch::Tensor> state = lstm_->forward(x);
  for (size_t d = 0; d < decisions_.size(); ++d) {
    if (d > 0) state = lstm_->forward(x, state);
    const auto lp = torch::log_softmax(logits(d, std::get<0>(state)), 1);
    log_prob = log_prob + lp[0][choices[d]];
    entropy = entropy - (lp.exp() * lp).sum();
    x = embeddings_[d]->forward(torch::tensor({choices[d]}));
  }
  return {log_prob, entropy};
}

std::vector<std::vector<double>> ControllerNetImpl::probabilities(const Choices& choices) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<double>> out;
  auto x = start_;
  std::tuple<torch::Tensor, torch::Tensor> state = lstm_->forward(x);
  for (size_t d = 0; d < decisions_.size(); ++d) {
    if (d > 0) state = lstm_->forward(x, state);
    const auto p = torch::softmax(logits(d, std::get<0>(state)), 1).to(torch::kDouble).contiguous();
    out.emplace_back(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
    x = embeddings_[d]->forward(torch::tensor({choices[d]}));
  }
  return out;
}

RLController::RLController(const SearchSpace& space, uint64_t seed, RLControllerOptions options)
    : decisions_(decisions(space)), options_(options), rng_(seed) {
  // The controller's initial weights come from the one run seed.
  torch::manual_seed(seed);
  net_ = ControllerNet(decisions_, options_);
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(),
                                                    torch::optim::AdamOptions(options_.lr()));
}

Choices RLController::propose() { return net_->sample(rng_); }

void RLController::update_baseline(double reward) {
  baseline_ = observed_ == 0 ? reward
                             : baseline_ - (1.0 - options_.baseline_decay()) * (baseline_ - reward);
  ++observed_;
}

void RLController::observe(const Choices& choices, double reward) {
  update_baseline(reward);
  auto [log_prob, entropy] = net_->log_prob_and_entropy(choices);
  const auto loss = -(reward - baseline_) * log_prob - options_.entropy_weight() * entropy;
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
}

void RLController::observe(const std::vector<Choices>& batch, const std::vector<double>& rewards) {
  if (batch.size() != rewards.size() || batch.empty()) {
    throw std::logic_error("rl: " + std::to_string(batch.size()) + " proposals but " +
                           std::to_string(rewards.size()) + " rewards");
  }
  if (batch.size() == 1) return observe(batch[0], rewards[0]);
  double mean = 0.0;
  for (double r : rewards) mean += r / static_cast<double>(rewards.size());
  auto loss = torch::zeros({});
  for (size_t i = 0; i < batch.size(); ++i) {
    update_baseline(rewards[i]);
    auto [log_prob, entropy] = net_->log_prob_and_entropy(batch[i]);
    loss = loss - (rewards[i] - mean) * log_prob - options_.entropy_weight() * entropy;
  }
  loss = loss / static_cast<double>(batch.size());
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
}

nlohmann::json RLController::state() const {
  return {{"rng", save_rng(rng_)}, {"baseline", baseline_}, {"observed", observed_}};
}

std::string RLController::state_blob() const {
  torch::serialize::OutputArchive archive, net_archive, optim_archive;
  net_->save(net_archive);
  optimizer_->save(optim_archive);
  archive.write("net", net_archive);
  archive.write("optimizer", optim_archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void RLController::load_state(const nlohmann::json& state, const std::string& blob) {
  JsonReader r(state, "rl strategy state");
  r.expect_object({"rng", "baseline", "observed", "weights"});
  load_rng(rng_, r.get_string("rng"), r.source() + ": " + r.at("rng").path());
  baseline_ = r.get_double("baseline", -1e300, 1e300);
  observed_ = r.get_int("observed", 0, INT64_MAX);
  std::string bytes_text = blob;
  if (blob.empty()) {
    if (!r.has("weights"))
      r.fail_at("weights", "missing (the network is neither in the state's blob nor here)");
    bytes_text = base64_decode(r.get_string("weights"), "rl strategy state: $.weights");
  }
  std::istringstream bytes(bytes_text);
  try {
    torch::serialize::InputArchive archive, net_archive, optim_archive;
    archive.load_from(bytes);
    archive.read("net", net_archive);
    archive.read("optimizer", optim_archive);
    net_->load(net_archive);
    optimizer_->load(optim_archive);
  } catch (const c10::Error& e) {
    throw InputError("rl strategy state: the network does not match this space and options");
  }
}

void config_fields(ConfigFields& f, RLControllerOptions& o) {
  f.integer("hidden", o.hidden(), 8, 1024);
  f.number("lr", o.lr(), NumberRange::open_closed(0.0, 1.0));
  f.number("entropy_weight", o.entropy_weight(), NumberRange::closed(0.0, 1.0));
  f.number("baseline_decay", o.baseline_decay(), NumberRange::closed(0.0, 1.0));
  f.number("tanh_c", o.tanh_c(), NumberRange::open_closed(0.0, 100.0));
  f.number("temperature", o.temperature(), NumberRange::open_closed(0.0, 100.0));
}

std::unique_ptr<Strategy> make_rl_controller(const SearchSpace& space, uint64_t seed,
                                             const JsonReader& options) {
  RLControllerOptions o;
  read_config(options, o);
  return std::make_unique<RLController>(space, seed, o);
}

}  // namespace frostnas

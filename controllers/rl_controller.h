#pragma once

#include <random>

#include <torch/torch.h>

#include "controllers/strategy.h"

namespace frostnas {

/// Options of the ENAS-style controller (constants: docs/frostnet.md, "RL controller and reward").
struct RLControllerOptions {
  TORCH_ARG(int64_t, hidden) = 64;           ///< LSTM hidden units (ENAS: 64 to 100)
  TORCH_ARG(double, lr) = 3.5e-3;            ///< Adam learning rate (ENAS: 3.5e-4 to 3.5e-3)
  TORCH_ARG(double, entropy_weight) = 1e-4;  ///< entropy bonus
  TORCH_ARG(double, baseline_decay) = 0.95;  ///< moving-average baseline (ENAS: 0.95 to 0.99)
  TORCH_ARG(double, tanh_c) = 2.5;           ///< logits -> tanh_c * tanh(logits / temperature)
  TORCH_ARG(double, temperature) = 5.0;
};

/// The controller network: an LSTM cell that emits one categorical choice per
/// decision of the space; the embedding of each choice is the next step's input.
class ControllerNetImpl : public torch::nn::Module {
 public:
  ControllerNetImpl(const std::vector<Decision>& decisions, const RLControllerOptions& options);

  /// Logits of decision `d` given the LSTM state: [1, options(d)].
  torch::Tensor logits(size_t d, const torch::Tensor& h);
  /// Samples a choice vector with `rng` (no gradient).
  Choices sample(std::mt19937_64& rng);
  /// Sum of log-probabilities and of entropies of `choices` (scalars, with gradient).
  std::pair<torch::Tensor, torch::Tensor> log_prob_and_entropy(const Choices& choices);
  /// Probabilities of every option of every decision along `choices`.
  std::vector<std::vector<double>> probabilities(const Choices& choices);

 private:
  std::vector<Decision> decisions_;
  RLControllerOptions options_;
  torch::nn::LSTMCell lstm_{nullptr};
  torch::Tensor start_;  ///< [1, hidden] learned first input
  std::vector<torch::nn::Embedding> embeddings_;
  std::vector<torch::nn::Linear> heads_;
};
TORCH_MODULE(ControllerNet);

/// REINFORCE with a moving-average baseline and an entropy bonus over an LSTM
/// controller (ENAS); the reward is the MnasNet objective computed by the driver.
/// In batches of k > 1 the k architectures are sampled from one policy and one
/// update follows from the mean of their REINFORCE losses, with the batch's mean
/// reward as the baseline (the moving average keeps following the rewards).
class RLController : public Strategy {
 public:
  RLController(const SearchSpace& space, uint64_t seed, RLControllerOptions options = {});
  std::string name() const override { return "rl"; }
  using Strategy::observe;
  using Strategy::propose;
  Choices propose() override;
  void observe(const Choices& choices, double reward) override;
  void observe(const std::vector<Choices>& batch, const std::vector<double>& rewards) override;
  nlohmann::json state() const override;
  /// The policy network and its optimizer as a torch archive.
  std::string state_blob() const override;
  /// Also reads the archive from `$.weights` (base64 text) when `blob` is empty: the
  /// layout of databases written before the state had a binary part.
  void load_state(const nlohmann::json& state, const std::string& blob) override;

  ControllerNet& net() { return net_; }
  double baseline() const { return baseline_; }

 private:
  std::vector<Decision> decisions_;
  RLControllerOptions options_;
  std::mt19937_64 rng_;
  ControllerNet net_{nullptr};
  void update_baseline(double reward);

  std::unique_ptr<torch::optim::Adam> optimizer_;
  double baseline_ = 0.0;
  int64_t observed_ = 0;
};

/// The JSON fields of the options (common/config_fields.h), with their ranges.
void config_fields(ConfigFields& f, RLControllerOptions& o);

/// Factory for the registry; options: the RLControllerOptions field names.
std::unique_ptr<Strategy> make_rl_controller(const SearchSpace& space, uint64_t seed,
                                             const JsonReader& options);

}  // namespace frostnas

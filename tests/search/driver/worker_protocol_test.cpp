// The messages between rank 0 and the MPI workers, without MPI.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "search/driver/worker_protocol.h"

using namespace frostnas;

namespace {

SearchConfig small_config(int64_t seed) {
  nlohmann::json j = {
      {"format", "frostnas.search/1"},
      {"space", std::string(FROSTNAS_SOURCE_DIR) + "/experiments/spaces/proxy.json"},
      {"strategy", {{"name", "random"}}},
      {"samples", 4},
      {"batch", 2},
      {"seed", seed},
      {"data", {{"name", "synthetic"}, {"train_subset", 64}, {"val_size", 32}}},
      {"latency", {{"source", "macs"}, {"target_ms", 5.0}}}};
  return search_config_from_json(j, "small.json", ".");
}

}  // namespace

TEST(WorkerProtocol, TaskAndResultRoundTrip) {
  const SearchConfig config = small_config(1);
  const NetSpec net = decode(config.space, std::vector<int64_t>(decisions(config.space).size(), 0));
  TaskMessage task{17, 3, 2, to_json(net), 0x7fffffffffffff01ULL, to_json(config.train)};
  const TaskMessage t = decode_task(encode(task), "test");
  EXPECT_EQ(t.candidate_id, 17);
  EXPECT_EQ(t.seq, 3);
  EXPECT_EQ(t.attempt, 2);
  EXPECT_EQ(t.seed, 0x7fffffffffffff01ULL);
  EXPECT_EQ(arch_hash(net_spec_from_json(t.arch, "test")), arch_hash(net));
  EXPECT_EQ(to_json(train_config_from_json(t.train, "test")), to_json(config.train));
  EXPECT_EQ(message_type(encode(task), "test"), "task");

  ResultMessage result;
  result.candidate_id = 17;
  result.evaluation.fp32_acc = 91.25;
  result.evaluation.int8_acc = 1.0 / 3.0;  // exact doubles survive the text
  result.evaluation.train_seconds = 2.5;
  const ResultMessage r = decode_result(encode(result), "test");
  EXPECT_EQ(r.candidate_id, 17);
  EXPECT_EQ(r.evaluation.fp32_acc, 91.25);
  EXPECT_EQ(r.evaluation.int8_acc, 1.0 / 3.0);
  EXPECT_TRUE(std::isnan(r.evaluation.qat_acc));  // NaN travels as null
  EXPECT_EQ(r.evaluation.train_seconds, 2.5);
  EXPECT_FALSE(r.evaluation.failed);

  ResultMessage failed;
  failed.candidate_id = 4;
  failed.evaluation.failed = true;
  failed.evaluation.error = "diverged: loss nan";
  const Evaluation f = decode_result(encode(failed), "test").evaluation;
  EXPECT_TRUE(f.failed);
  EXPECT_EQ(f.error, "diverged: loss nan");
  EXPECT_TRUE(std::isnan(f.int8_acc));
}

TEST(WorkerProtocol, HandshakeMessagesRoundTrip) {
  const SearchConfig config = small_config(1);
  const HelloMessage h = decode_hello(encode(HelloMessage{"0.1.0", config.to_json()}), "test");
  EXPECT_EQ(h.version, "0.1.0");
  EXPECT_EQ(config_hash(search_config_from_json(h.config, "hello", ".")), config_hash(config));

  ReadyMessage ready{"0.1.0", "00ff", "abcd", "node7", 2, ""};
  const ReadyMessage r = decode_ready(encode(ready), "test");
  EXPECT_EQ(r.config_hash, "00ff");
  EXPECT_EQ(r.data_checksum, "abcd");
  EXPECT_EQ(r.host, "node7");
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(message_type(encode_stop(), "test"), "stop");
}

TEST(WorkerProtocol, RejectsWhatIsNotAMessage) {
  auto error = [](auto fn) {
    try {
      fn();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error([] { message_type("{\"x\": 1", "worker 2"); }),
            "worker 2: not a frostnas worker message");
  EXPECT_EQ(error([] { decode_task(encode_stop(), "rank 0"); }),
            "rank 0: $.type: expected \"task\"");
  EXPECT_NE(error([] {
              decode_result(R"({"type": "result", "candidate_id": 0, "evaluation": {}})",
                            "worker 1");
            }).find("candidate_id"),
            std::string::npos);
}

TEST(WorkerProtocol, ConfigHashAndDataChecksumTellRunsApart) {
  EXPECT_EQ(config_hash(small_config(1)), config_hash(small_config(1)));
  EXPECT_NE(config_hash(small_config(1)), config_hash(small_config(2)));
  const DataSplits a = search_data(small_config(1));
  EXPECT_EQ(data_checksum(a), data_checksum(search_data(small_config(1))));
  // Another seed holds out other samples.
  EXPECT_NE(data_checksum(a), data_checksum(search_data(small_config(2))));
}

TEST(WorkerProtocol, JobSizeComesFromTheLauncher) {
  ::unsetenv("PMI_SIZE");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(mpi_job_size_from_env(), 0);
  ::setenv("PMI_SIZE", "4", 1);
  EXPECT_EQ(mpi_job_size_from_env(), 4);
  ::setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
  EXPECT_EQ(mpi_job_size_from_env(), 3);
  ::unsetenv("PMI_SIZE");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
}

TEST(WorkerProtocol, FinalModelTaskCarriesItsFilesBack) {
  const SearchConfig config = small_config(1);
  const NetSpec net = decode(config.space, std::vector<int64_t>(decisions(config.space).size(), 0));
  TaskMessage task{5, 2, 1, to_json(net), 9, to_json(config.train), kJobFinal};
  EXPECT_EQ(decode_task(encode(task), "test").job, kJobFinal);
  // A job this program does not know is refused.
  nlohmann::json j = nlohmann::json::parse(encode(task));
  j["job"] = "measure";
  EXPECT_THROW(decode_task(j.dump(), "rank 0"), InputError);

  ResultMessage result;
  result.candidate_id = 5;
  result.evaluation.int8_acc = 87.5;
  const std::string binary("PK\x03\x04\0\xff\x80 end", 11);  // any bytes, NUL included
  result.files = {{"int8/weights.bin", binary}, {"arch.json", "{}\n"}, {"empty", ""}};
  const ResultMessage r = decode_result(encode(result), "test");
  ASSERT_EQ(r.files.size(), 3u);
  EXPECT_EQ(r.files[0].path, "int8/weights.bin");
  EXPECT_EQ(r.files[0].bytes, binary);
  EXPECT_EQ(r.files[1].bytes, "{}\n");
  EXPECT_EQ(r.files[2].bytes, "");
  EXPECT_EQ(r.evaluation.int8_acc, 87.5);
}

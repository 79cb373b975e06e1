#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "search/driver/evaluator.h"
#include "search/driver/search_config.h"
#include "trainer/train/train_model.h"

namespace frostnas {

/// The messages between the process that drives a search (MPI rank 0) and its
/// workers, as one-line JSON texts with a "type" field. Transport-free, so that
/// they are tested without MPI; search/mpi only moves the bytes.

/// rank 0 -> worker, once: who is asking and the configuration it runs.
struct HelloMessage {
  std::string version;                               ///< program version of rank 0
  nlohmann::json config = nlohmann::json::object();  ///< SearchConfig::to_json()
};

/// worker -> rank 0, once: what the worker runs, or why it cannot.
struct ReadyMessage {
  std::string version;        ///< the worker's program version
  std::string config_hash;    ///< config_hash() of the worker's configuration
  std::string data_checksum;  ///< data_checksum() of the worker's data
  std::string host;
  int64_t threads = 1;  ///< training threads the worker uses
  std::string error;    ///< non-empty: the worker could not start (one line)
};

/// rank 0 -> worker: train and score one candidate.
struct TaskMessage {
  int64_t candidate_id = 0;
  int64_t seq = 0;
  int64_t attempt = 1;
  nlohmann::json arch = nlohmann::json::object();   ///< frostnas.arch/1
  uint64_t seed = 0;                                ///< training seed
  nlohmann::json train = nlohmann::json::object();  ///< TrainConfig (to_json)
};

/// worker -> rank 0: the evaluation of a task.
struct ResultMessage {
  int64_t candidate_id = 0;
  Evaluation evaluation;
};

std::string encode(const HelloMessage& m);
std::string encode(const ReadyMessage& m);
std::string encode(const TaskMessage& m);
std::string encode(const ResultMessage& m);
/// "stop": rank 0 -> worker, the run is over.
std::string encode_stop();

/// The "type" of a message ("hello", "ready", "task", "result", "stop"); throws
/// InputError naming `source` when the text is not a frostnas message.
std::string message_type(const std::string& text, const std::string& source);
HelloMessage decode_hello(const std::string& text, const std::string& source);
ReadyMessage decode_ready(const std::string& text, const std::string& source);
TaskMessage decode_task(const std::string& text, const std::string& source);
ResultMessage decode_result(const std::string& text, const std::string& source);

/// Evaluation as JSON (NaN accuracies as null) and back.
nlohmann::json to_json(const Evaluation& e);
Evaluation evaluation_from_json(const nlohmann::json& j, const std::string& source);

/// FNV-1a of the stored configuration (hex): equal on every rank of one run.
std::string config_hash(const SearchConfig& config);
/// FNV-1a over the bytes and labels of the training and validation splits (hex).
std::string data_checksum(const DataSplits& data);
/// The program version every rank reports.
std::string program_version();

/// The size of the MPI job this process was started in, from the launcher's
/// environment (Open MPI's OMPI_COMM_WORLD_SIZE, else PMI_SIZE of Slurm and
/// MPICH); 0 when it was not started by an MPI launcher.
int64_t mpi_job_size_from_env();

}  // namespace frostnas

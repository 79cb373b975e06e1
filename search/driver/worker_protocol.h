#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

/// What rank 0 greets its workers with and expects each of them to report.
struct WorkerGreeting {
  nlohmann::json config;      ///< the stored configuration, sent in the hello
  std::string config_hash;    ///< expected back (config_hash of the worker's configuration)
  std::string data_checksum;  ///< expected back
  nlohmann::json train;       ///< TrainConfig (to_json) sent with each search candidate
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

/// The jobs a task names (TaskMessage::job).
constexpr const char* kJobEvaluate = "evaluate";
constexpr const char* kJobFinal = "final";

/// rank 0 -> worker: train and score one candidate.
struct TaskMessage {
  int64_t candidate_id = 0;
  int64_t seq = 0;
  int64_t attempt = 1;
  nlohmann::json arch = nlohmann::json::object();   ///< frostnas.arch/1
  uint64_t seed = 0;                                ///< training seed
  nlohmann::json train = nlohmann::json::object();  ///< TrainConfig (to_json)
  /// kJobEvaluate: score a search candidate on the validation split (Evaluation only);
  /// kJobFinal: train a pipeline's final model and send its saved files back.
  std::string job = kJobEvaluate;
};

/// A file a worker saved, carried in its result (base64 in the text), so that no
/// shared file system is needed.
struct FilePart {
  std::string path;   ///< relative to the saved model's folder, '/'-separated
  std::string bytes;  ///< the file's content
};

/// worker -> rank 0: the evaluation of a task.
struct ResultMessage {
  int64_t candidate_id = 0;
  Evaluation evaluation;
  std::vector<FilePart> files;  ///< kJobFinal: the saved model, else empty
};

/// What a worker process does with rank 0's greeting and tasks, whatever carries the
/// messages (search/mpi): a search's candidates, or a pipeline's candidates and final
/// models (experiments/pipeline).
class WorkerJobs {
 public:
  virtual ~WorkerJobs() = default;
  /// Loads the configuration (this rank's own or the greeting's) and the data; the
  /// answer carries version, configuration hash and data checksum, or the one-line error.
  virtual ReadyMessage set_up(const HelloMessage& hello) = 0;
  /// Performs one task after a set_up without error. Never throws for a failing
  /// model: the evaluation reports `failed`.
  virtual ResultMessage perform(const TaskMessage& task) = 0;
};

/// Trains and scores the candidate of a kJobEvaluate task on `data` with the task's
/// training configuration (a failure, caught, is reported in the evaluation).
Evaluation evaluate_task(const DataSplits& data, const TaskMessage& task);
/// The first line of an exception's message, for one-line reports.
std::string first_line(const std::exception& e);

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
/// FNV-1a of a stored configuration's JSON text (hex).
std::string config_hash(const nlohmann::json& stored);
/// FNV-1a over the bytes and labels of the training, validation and (where there is
/// one) test splits (hex).
std::string data_checksum(const DataSplits& data);
/// The program version every rank reports.
std::string program_version();

/// The size of the MPI job this process was started in, from the launcher's
/// environment (Open MPI's OMPI_COMM_WORLD_SIZE, else PMI_SIZE of Slurm and
/// MPICH); 0 when it was not started by an MPI launcher.
int64_t mpi_job_size_from_env();

}  // namespace frostnas

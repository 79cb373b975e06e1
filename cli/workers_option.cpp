#include "cli/workers_option.h"

#include <iostream>
#include <string>

#include "common/error.h"
#include "search/driver/worker_protocol.h"

namespace frostnas::cli {

void add_worker_options(po::options_description& options) {
  options.add_options()(
      "workers", po::value<std::string>()->default_value("auto"),
      "serial: train here; mpi: rank 0 drives, ranks 1..N-1 train (under mpirun); auto: mpi "
      "when started by an MPI launcher")(
      "worker-deadline", po::value<double>()->default_value(21600),
      "seconds an MPI worker may take for one task (a candidate, a final model) before the run "
      "stops (0: no limit)");
}

bool use_mpi_workers(const po::variables_map& vm) {
  const std::string workers = vm["workers"].as<std::string>();
  if (workers != "auto" && workers != "serial" && workers != "mpi")
    throw InputError("--workers: \"" + workers + "\" is not allowed (allowed: auto, serial, mpi)");
  if (vm["worker-deadline"].as<double>() < 0)
    throw InputError("--worker-deadline: must be >= 0 seconds (0: no limit)");
  const int64_t job = mpi_job_size_from_env();
  if (workers == "serial" || (workers == "auto" && job == 0)) return false;
#ifdef FROSTNAS_WITH_MPI
  return true;
#else
  throw InputError(
      "--workers mpi: this frostnas is built without MPI (install libopenmpi-dev "
      "and rebuild with -DFROSTNAS_WITH_MPI=ON)" +
      (job > 0 ? "; started by an MPI launcher with " + std::to_string(job) + " processes"
               : std::string()));
#endif
}

#ifdef FROSTNAS_WITH_MPI
void run_on_rank0(const MpiWorld& world, MpiDispatcher& dispatcher,
                  const std::function<void()>& work) {
  try {
    work();
  } catch (const std::exception& e) {
    if (dispatcher.shutdown()) throw;
    const std::string what = e.what();
    std::cerr << "frostnas: error: " << what.substr(0, what.find('\n')) << std::endl;
    world.abort(1);
  }
}

void end_interrupted_run(const MpiWorld& world, MpiDispatcher& dispatcher, const std::string& line,
                         const std::function<void()>& before_abort) {
  if (dispatcher.shutdown()) throw InputError(line);
  // Workers still training (or silent) end only with the whole job.
  std::cerr << "frostnas: error: " << line << std::endl;
  before_abort();
  world.abort(1);
}
#endif

}  // namespace frostnas::cli

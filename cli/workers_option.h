#pragma once

#include <functional>
#include <string>

#include <boost/program_options.hpp>

#ifdef FROSTNAS_WITH_MPI
#include "search/mpi/mpi_search.h"
#endif

namespace frostnas::cli {

namespace po = boost::program_options;

/// --workers serial|mpi|auto and --worker-deadline SECONDS, as `search` and `pipeline`
/// offer them.
void add_worker_options(po::options_description& options);

/// Whether the command runs with MPI workers: --workers mpi, or auto in a process started
/// by an MPI launcher. Throws InputError (one line) for a bad value, a negative deadline,
/// or MPI asked of a frostnas built without it.
bool use_mpi_workers(const po::variables_map& vm);

#ifdef FROSTNAS_WITH_MPI
/// Runs rank 0's `work`. An exception while a worker is still busy (only the end of the
/// whole job stops it) is printed as one line and ends the job with exit status 1; with
/// every worker idle it propagates.
void run_on_rank0(const MpiWorld& world, MpiDispatcher& dispatcher,
                  const std::function<void()>& work);

/// Ends rank 0's interrupted run with `line`: InputError when every worker is idle, else the
/// line on stderr, `before_abort` (closing the database) and the end of the whole job.
[[noreturn]] void end_interrupted_run(const MpiWorld& world, MpiDispatcher& dispatcher,
                                      const std::string& line,
                                      const std::function<void()>& before_abort);
#endif

}  // namespace frostnas::cli

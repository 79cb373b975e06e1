#pragma once

#include <boost/program_options.hpp>

namespace frostnas::cli {

namespace po = boost::program_options;

/// --workers serial|mpi|auto and --worker-deadline SECONDS, as `search` and `pipeline`
/// offer them.
void add_worker_options(po::options_description& options);

/// Whether the command runs with MPI workers: --workers mpi, or auto in a process started
/// by an MPI launcher. Throws InputError (one line) for a bad value, a negative deadline,
/// or MPI asked of a frostnas built without it.
bool use_mpi_workers(const po::variables_map& vm);

}  // namespace frostnas::cli

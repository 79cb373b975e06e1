#pragma once

#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace frostnas {

/// The schema version of a frostnas database (`PRAGMA user_version`): the number
/// of migrations applied. A database of a newer version is refused.
constexpr int kStoreSchemaVersion = 3;
/// The version of the latency lookup-table keys and measurements. Every latency row
/// carries the version it was written with, and only rows of this version are read,
/// so changing the key format or the measurement protocol (and bumping this)
/// invalidates old measurements without a migration.
constexpr int kLatencyTableVersion = 1;
/// The `application` entry of the `meta` table.
constexpr const char* kStoreApplication = "frostnas";

/// One schema step: the SQL that takes a database from `version - 1` to `version`.
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

/// The migrations in order; the last one has version kStoreSchemaVersion.
const std::vector<Migration>& store_migrations();

/// Checks, through a read-only connection that changes nothing, that the existing
/// file `path` is empty, an SQLite database without tables, or a frostnas database
/// of a version this program knows. Does nothing when `path` does not exist.
/// Throws InputError("<path>: not a frostnas database (...)") otherwise.
void check_store_file(const std::string& path);

/// Applies the missing migrations to `db` (opened read-write), each in its own
/// transaction together with the new `user_version`. Returns the schema version.
int migrate_store(SQLite::Database& db, const std::string& path);

}  // namespace frostnas

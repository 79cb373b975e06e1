#include <filesystem>
#include <fstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "search/store/store.h"
#include "tests/search/store/temp_dir.h"

using namespace frostnas;

namespace {

/// The InputError message of opening `path` ("" when it opens).
std::string open_error(const std::string& path) {
  try {
    Store store(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

int64_t count(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet(sql).getInt64();
}

}  // namespace

TEST(StoreOpen, CreatesWalDatabaseAndParentDirectories) {
  TempDir dir;
  const std::string path = dir.file("runs/nested/frostnas.sqlite");
  {
    Store store(path);
    EXPECT_EQ(store.path(), path);
    EXPECT_EQ(store.schema_version(), kStoreSchemaVersion);
    EXPECT_EQ(store.integrity_check(), "ok");
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(path));
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), kStoreSchemaVersion);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(db.execAndGet("SELECT value FROM meta WHERE key = 'application'").getString(),
            "frostnas");
}

TEST(StoreOpen, MigrationsAreOrderedAndEndAtTheSchemaVersion) {
  const auto& migrations = store_migrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
  }
  EXPECT_EQ(migrations.back().version, kStoreSchemaVersion);
}

TEST(StoreOpen, ReopenKeepsDataAndAppliesNoMigrationTwice) {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  int64_t id = 0;
  {
    Store store(path);
    ExperimentRecord e;
    e.kind = "search";
    e.name = "first";
    id = store.create_experiment(e).id;
  }
  const int64_t objects = count(path, "SELECT COUNT(*) FROM sqlite_master");
  for (int i = 0; i < 2; ++i) {
    Store store(path);
    EXPECT_EQ(store.schema_version(), kStoreSchemaVersion);
    ASSERT_EQ(store.list_experiments().size(), 1u);
    EXPECT_EQ(store.get_experiment(id).name, "first");
  }
  EXPECT_EQ(count(path, "SELECT COUNT(*) FROM sqlite_master"), objects);
  EXPECT_EQ(count(path, "SELECT COUNT(*) FROM meta"), 2);
}

TEST(StoreOpen, EmptyFileBecomesFrostnasDatabase) {
  TempDir dir;
  const std::string path = dir.file("empty.sqlite");
  std::ofstream(path).close();
  Store store(path);
  EXPECT_EQ(store.schema_version(), kStoreSchemaVersion);
  EXPECT_TRUE(store.list_experiments().empty());
}

TEST(StoreOpen, RefusesForeignSqliteDatabaseAndLeavesItUntouched) {
  TempDir dir;
  const std::string path = dir.file("photos.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)");
    db.exec("CREATE TABLE albums (id INTEGER PRIMARY KEY)");
    db.exec("INSERT INTO photos (name) VALUES ('cat.jpg')");
  }
  const std::string before = read_bytes(path);
  EXPECT_EQ(open_error(path),
            path +
                ": not a frostnas database (no meta.application = 'frostnas'; tables: "
                "albums, photos)");
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_EQ(count(path, "SELECT COUNT(*) FROM sqlite_master"), 2);
}

TEST(StoreOpen, RefusesDatabaseWhoseMetaNamesAnotherApplication) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)");
    db.exec("INSERT INTO meta VALUES ('application', 'other')");
  }
  const std::string before = read_bytes(path);
  EXPECT_EQ(open_error(path),
            path + ": not a frostnas database (no meta.application = 'frostnas'; tables: meta)");
  EXPECT_EQ(read_bytes(path), before);
}

TEST(StoreOpen, RefusesTextFileAndLeavesItUntouched) {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i) + " of a plain text file\n";
  std::ofstream(path, std::ios::binary) << text;
  EXPECT_EQ(open_error(path), path + ": not a frostnas database (not an SQLite file)");
  EXPECT_EQ(read_bytes(path), text);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
}

TEST(StoreOpen, RefusesDirectory) {
  TempDir dir;
  const std::string path = dir.file("a_directory");
  std::filesystem::create_directories(path);
  EXPECT_EQ(open_error(path), path + ": not a frostnas database (not a regular file)");
}

TEST(StoreOpen, RefusesNewerSchemaVersionAndLeavesItUntouched) {
  TempDir dir;
  const std::string path = dir.file("future.sqlite");
  { Store store(path); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = " + std::to_string(kStoreSchemaVersion + 1));
  }
  const std::string before = read_bytes(path);
  const std::string error = open_error(path);
  EXPECT_EQ(error, path + ": not usable: schema version " +
                       std::to_string(kStoreSchemaVersion + 1) +
                       " is newer than this frostnas supports (" +
                       std::to_string(kStoreSchemaVersion) + "); use a newer frostnas");
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(count(path, "PRAGMA user_version"), kStoreSchemaVersion + 1);
}

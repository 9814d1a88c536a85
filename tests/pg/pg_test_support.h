#pragma once
// Helpers for GoogleTest binaries that need PostgreSQL (see pg_tests.cmake).
//
//   TestDatabase db;             // CREATE DATABASE sbc_t_<unique>, migrated
//   pqxx::connection c(db.dsn());
//   ...                          // DROP DATABASE ... WITH (FORCE) at scope end
//
//   PrivateServer srv(3);        // a cluster of its own on SBC_TEST_PG_PORT + 3,
//   srv.stop(); srv.start();     // for tests that take the server down
#include <pqxx/pqxx>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "common/db/dsn.h"
#include "common/db/migrate.h"

namespace sbc::testpg {

// The test server's maintenance DSN (dbname=postgres).
inline std::string serverDsn() {
  if (const char* env = std::getenv("SBC_TEST_DSN"); env && *env) return env;
  return SBC_TEST_DSN_DEFAULT;
}

inline std::string uniqueName(const char* prefix) {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s_%d_%u_%08x", prefix, static_cast<int>(::getpid()),
                counter.fetch_add(1), rd());
  return buf;
}

// Runs a shell command, returns its exit status.
inline int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class TestDatabase {
 public:
  explicit TestDatabase(bool migrate = true, std::string server_dsn = serverDsn())
      : server_dsn_(std::move(server_dsn)), name_(uniqueName("sbc_t")) {
    {
      pqxx::connection c(server_dsn_);
      pqxx::nontransaction tx(c);
      tx.exec0("CREATE DATABASE " + c.quote_name(name_));
    }
    dsn_ = db::dsnWithParam(server_dsn_, "dbname", name_);
    if (migrate) {
      auto r = db::migrate(dsn_);
      if (!r.ok()) throw std::runtime_error("test database migration failed: " + r.message);
    }
  }
  ~TestDatabase() {
    try {
      pqxx::connection c(server_dsn_);
      pqxx::nontransaction tx(c);
      tx.exec0("DROP DATABASE IF EXISTS " + c.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      // The server may be down (a test that stopped it); a leftover database
      // of a unique name harms no other test.
      std::fprintf(stderr, "note: could not drop %s: %s\n", name_.c_str(), e.what());
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

  // One statement in its own transaction.
  pqxx::result exec(const std::string& sql) const {
    pqxx::connection c(dsn_);
    pqxx::work tx(c);
    auto r = tx.exec(sql);
    tx.commit();
    return r;
  }
  template <typename T>
  T scalar(const std::string& sql) const {
    return exec(sql)[0][0].as<T>();
  }

 private:
  std::string server_dsn_;
  std::string name_;
  std::string dsn_;
};

// A PostgreSQL cluster private to one test (tests/pg/pg.sh on its own port),
// so that stopping it disturbs no test running in parallel. Each test that
// uses one passes its own offset.
class PrivateServer {
 public:
  explicit PrivateServer(int port_offset) : port_(SBC_TEST_PG_PORT + port_offset) { start(); }
  ~PrivateServer() { shell(cmd("destroy") + " >/dev/null 2>&1"); }
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  void start() { ASSERT_EQ(shell(cmd("start") + " >/dev/null"), 0) << "pg.sh start on " << port_; }
  void stop() { ASSERT_EQ(shell(cmd("stop")), 0) << "pg.sh stop on " << port_; }
  int port() const { return port_; }
  // Maintenance DSN of this server.
  std::string dsn() const {
    std::string user = "postgres";
    if (::getuid() != 0) {
      const passwd* pw = ::getpwuid(::getuid());
      user = pw ? pw->pw_name : "";
    }
    std::string d =
        "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres connect_timeout=3";
    if (!user.empty()) d += " user=" + user;
    return d;
  }

 private:
  std::string cmd(const char* verb) const {
    return "SBC_TEST_PG_PORT=" + std::to_string(port_) + " " SBC_PG_SH " " + verb;
  }
  int port_;
};

// A TCP port that completes the handshake (the kernel's backlog) but never
// speaks: a PostgreSQL server that hangs. Connects to it wait for their timeout.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("SilentServer: socket setup failed");
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  std::string dsn(int connect_timeout_s = 2) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " dbname=x user=x connect_timeout=" + std::to_string(connect_timeout_s);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Polls `cond` until true or the timeout; true if it became true.
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

}  // namespace sbc::testpg

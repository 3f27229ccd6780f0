// SPDX-License-Identifier: MIT
// Options from the command line, a config file and the environment, through Boost.Program_options.
//
// Precedence, highest first: command line, environment (LIFETIME_<NAME>, upper case, '-' → '_',
// e.g. LIFETIME_SHUTDOWN_TIMEOUT=10s), config file (--config FILE), defaults.
//
// Built-in options: --help, --version, --config FILE, --shutdown-timeout DURATION (30s),
// --drain-delay DURATION (0), --supervisor-deadline DURATION (0), --upgrade-timeout DURATION
// (30s), --pid-file PATH, --log-level LEVEL (info). Applications add theirs with
// add_options() before parse() and read them afterwards with values()/value<T>()/duration().
//
// Config file: INI style, one `key = value` per line; blank lines and lines starting with '#' or
// ';' are ignored; `[section]` prefixes the following keys with "section.". Keys are option names
// without "--".
//
// Errors: an unknown option or malformed value on the command line is a usage_error (exit 64)
// naming the option and value; a config file that is missing, malformed, has an unknown key or a
// bad value is a config_error (exit 78) naming the file and line; a bad LIFETIME_ variable is a
// config_error naming the variable.
//
// Thread safety: not synchronised. Parse once in main(); reload() runs on the host's strand
// (through host_options::reload_config), so read values there or before run().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

#include <lifetime/host/duration.hpp>
#include <lifetime/host/exit_code.hpp>
#include <lifetime/host/host_options.hpp>

namespace lifetime::host {

class options {
 public:
  /// `program` appears in --help and --version; `version` in --version.
  explicit options(std::string program, std::string version = "0.1.0",
                   std::string env_prefix = "LIFETIME_");
  options(const options&) = delete;
  options& operator=(const options&) = delete;

  /// Declares the application's own options (shown under "Application options").
  boost::program_options::options_description_easy_init add_options();

  /// Parses the command line, then the environment, then the config file.
  /// @return an exit code if the process should exit now: 0 after printing --help or --version
  ///         to stdout, 64 or 78 after printing the error to stderr; nothing to go on.
  [[nodiscard]] std::optional<int> parse(int argc, const char* const argv[]);

  /// As parse(), but throws usage_error / config_error; help and version still print and
  /// return 0.
  std::optional<int> parse_or_throw(int argc, const char* const argv[]);

  /// Re-reads the config file (and environment); the command line still wins. On error throws
  /// config_error and keeps the previous values.
  void reload();

  /// Every parsed value, for anything the accessors below do not cover.
  const boost::program_options::variables_map& values() const noexcept { return values_; }

  /// True if `name` has a value (given or defaulted).
  bool has(const std::string& name) const { return values_.count(name) != 0; }

  /// The value of `name`. @throws std::out_of_range if it has none, boost::bad_any_cast if it
  /// was declared with another type.
  template <class T>
  T value(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end())
      throw std::out_of_range("no value for option --" + name);
    return it->second.as<T>();
  }

  /// The value of a duration_value option.
  std::chrono::milliseconds duration(const std::string& name) const {
    return value<duration_value>(name).value;
  }

  /// The host settings the built-in options describe, with reload_config wired to reload()
  /// (this object must then outlive the host).
  host_options to_host_options();

  /// The --help text.
  std::string help() const;

  /// The --config file given (command line or environment), or "".
  std::string config_file() const { return has("config") ? value<std::string>("config") : ""; }
  const std::string& env_prefix() const noexcept { return env_prefix_; }

 private:
  boost::program_options::variables_map parse_all() const;
  void parse_config_file(const std::string& path,
                         boost::program_options::variables_map& into) const;
  void parse_environment(boost::program_options::variables_map& into) const;

  std::string program_;
  std::string version_;
  std::string env_prefix_;
  boost::program_options::options_description host_description_;
  boost::program_options::options_description app_description_;
  boost::program_options::options_description all_;
  std::vector<std::string> args_;
  boost::program_options::variables_map values_;
};

}  // namespace lifetime::host

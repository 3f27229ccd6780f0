// SPDX-License-Identifier: MIT
#include <lifetime/host/options.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <lifetime/host/logging.hpp>

namespace lifetime::host {
namespace po = boost::program_options;

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_reserved(const std::string& name) {
  return name == "help" || name == "version" || name == "config";
}

/// Stores one option; `what` says where it came from when the value is bad.
void store_one(const po::options_description& description, po::option option,
               po::variables_map& into) {
  po::parsed_options parsed(&description);
  parsed.options.push_back(std::move(option));
  po::store(parsed, into);
}

/// Boost.Program_options builds its error messages by replacing placeholders such as
/// `%canonical_option%` with the offending text, and never ends when that text holds a
/// placeholder itself. Such text is refused before Program_options sees it.
std::optional<std::string_view> find_message_placeholder(std::string_view text) {
  for (std::size_t open = text.find('%'); open != std::string_view::npos;
       open = text.find('%', open + 1)) {
    const std::size_t close = text.find('%', open + 1);
    if (close == std::string_view::npos)
      return std::nullopt;
    const std::string_view name = text.substr(open + 1, close - open - 1);
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
          return std::islower(c) != 0 || c == '_';
        })) {
      return text.substr(open, close - open + 1);
    }
  }
  return std::nullopt;
}

bool is_valid_log_level(const std::string& level) {
  return try_parse_log_level(level).has_value();
}

const char* const log_level_expected = "expected trace, debug, info, warn, error, critical, off";

}  // namespace

options::options(std::string program, std::string version, std::string env_prefix)
    : program_(std::move(program)),
      version_(std::move(version)),
      env_prefix_(std::move(env_prefix)),
      host_description_("Host options"),
      app_description_("Application options") {
  host_description_.add_options()                               //
      ("help,h", "print this help and exit")                    //
      ("version", "print the version and exit")                 //
      ("config", po::value<std::string>()->value_name("FILE"),  //
       "read options from FILE (INI style: key = value)")       //
      ("shutdown-timeout",
       po::value<duration_value>()
           ->default_value(duration_value{std::chrono::seconds(30)})
           ->value_name("DURATION"),
       "budget for the whole shutdown (250ms, 30s, 2m)")  //
      ("drain-delay",
       po::value<duration_value>()->default_value(duration_value{})->value_name("DURATION"),
       "keep serving this long after the stop begins")  //
      ("supervisor-deadline",
       po::value<duration_value>()->default_value(duration_value{})->value_name("DURATION"),
       "the supervisor kills a stop this long after asking for it (systemd TimeoutStopSec, "
       "Kubernetes terminationGracePeriodSeconds): refuse to start unless drain delay + "
       "shutdown timeout + 1s fit in it; 0 = not told")  //
      ("upgrade-timeout",
       po::value<duration_value>()
           ->default_value(duration_value{std::chrono::seconds(30)})
           ->value_name("DURATION"),
       "binary upgrade (SIGUSR1): how long the new process has to become ready")  //
      ("pid-file", po::value<std::string>()->value_name("PATH"),
       "write the serving process's pid to PATH (follows binary upgrades)")  //
      ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"),
       "trace, debug, info, warn, error, critical, off");
}

po::options_description_easy_init options::add_options() {
  return app_description_.add_options();
}

std::string options::help() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [options]\n\n" << host_description_ << '\n';
  if (!app_description_.options().empty())
    out << app_description_ << '\n';
  out << "Every option may also be set in the environment as " << env_prefix_
      << "<NAME> (upper case, '-' as '_'), e.g. " << env_prefix_
      << "SHUTDOWN_TIMEOUT=10s, or in the --config file.\n"
      << "Precedence: command line, environment, config file, defaults.\n";
  return out.str();
}

std::optional<int> options::parse(int argc, const char* const argv[]) {
  try {
    return parse_or_throw(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << program_ << ": " << e.what() << "\n(try --help)\n";
    return to_int(exit_code::usage);
  } catch (const config_error& e) {
    std::cerr << program_ << ": " << e.what() << '\n';
    return to_int(exit_code::config);
  }
}

std::optional<int> options::parse_or_throw(int argc, const char* const argv[]) {
  args_.assign(argv + std::min(argc, 1), argv + argc);
  if (all_.options().empty())
    all_.add(host_description_).add(app_description_);
  // --help and --version win over every other mistake on the command line, as in most tools.
  if (std::any_of(args_.begin(), args_.end(),
                  [](const std::string& a) { return a == "--help" || a == "-h"; })) {
    std::cout << help();
    return to_int(exit_code::success);
  }
  if (std::find(args_.begin(), args_.end(), "--version") != args_.end()) {
    std::cout << program_ << ' ' << version_ << '\n';
    return to_int(exit_code::success);
  }
  values_ = parse_all();
  return std::nullopt;
}

void options::reload() {
  values_ = parse_all();
}

po::variables_map options::parse_all() const {
  po::variables_map into;
  for (const auto& arg : args_) {
    if (const auto placeholder = find_message_placeholder(arg)) {
      throw usage_error("argument '" + arg + "' may not contain '" + std::string(*placeholder) +
                        "'");
    }
  }
  try {
    po::store(po::command_line_parser(args_).options(all_).run(), into);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  parse_environment(into);
  if (into.count("config") != 0) {
    parse_config_file(into["config"].as<std::string>(), into);
  }
  try {
    po::notify(into);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  const auto level = into["log-level"].as<std::string>();
  if (!try_parse_log_level(level)) {
    throw usage_error("invalid value '" + level + "' for --log-level (" + log_level_expected + ")");
  }
  if (into["upgrade-timeout"].as<duration_value>().value <= std::chrono::milliseconds{0})
    throw usage_error("invalid value '0' for --upgrade-timeout (expected a duration above 0)");
  if (into.count("pid-file") != 0 && into["pid-file"].as<std::string>().empty())
    throw usage_error("invalid value '' for --pid-file (expected a path)");
  host_options timing;
  timing.shutdown_timeout = into["shutdown-timeout"].as<duration_value>().value;
  timing.drain_delay = into["drain-delay"].as<duration_value>().value;
  timing.supervisor_deadline = into["supervisor-deadline"].as<duration_value>().value;
  if (auto problem = check_supervisor_deadline(timing))
    throw config_error(*problem);
  return into;
}

void options::parse_environment(po::variables_map& into) const {
  std::vector<std::pair<std::string, std::string>> names;  // option name, variable name
  const auto parsed = po::parse_environment(all_, [&](const std::string& variable) -> std::string {
    if (variable.size() <= env_prefix_.size() ||
        variable.compare(0, env_prefix_.size(), env_prefix_) != 0) {
      return {};
    }
    std::string name = variable.substr(env_prefix_.size());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
      return c == '_' ? '-' : static_cast<char>(std::tolower(c));
    });
    if ((is_reserved(name) && name != "config") || all_.find_nothrow(name, false) == nullptr) {
      return {};
    }
    return name;
  });
  for (const auto& option : parsed.options) {
    std::string variable = env_prefix_ + option.string_key;
    std::transform(variable.begin(), variable.end(), variable.begin(), [](unsigned char c) {
      return c == '-' ? '_' : static_cast<char>(std::toupper(c));
    });
    const std::string value = option.value.empty() ? std::string() : option.value.front();
    if (const auto placeholder = find_message_placeholder(value)) {
      throw config_error("environment variable " + variable + "='" + value +
                         "': may not contain '" + std::string(*placeholder) + "'");
    }
    if (option.string_key == "log-level" && !is_valid_log_level(value)) {
      throw config_error("environment variable " + variable + "='" + value +
                         "': " + log_level_expected);
    }
    try {
      store_one(all_, option, into);
    } catch (const po::error& e) {
      throw config_error("environment variable " + variable + "='" + value + "': " + e.what());
    }
  }
}

void options::parse_config_file(const std::string& path, po::variables_map& into) const {
  std::ifstream in(path);
  if (!in) {
    throw config_error("cannot read config file " + path + ": " + std::strerror(errno));
  }
  std::string section;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto where = [&] { return path + ":" + std::to_string(number) + ": "; };
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#' || text.front() == ';')
      continue;
    if (text.front() == '[') {
      if (text.back() != ']' || text.size() < 3) {
        throw config_error(where() + "malformed section header '" + std::string(text) + "'");
      }
      section = std::string(trim(text.substr(1, text.size() - 2))) + ".";
      continue;
    }
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) {
      throw config_error(where() + "expected 'key = value', got '" + std::string(text) + "'");
    }
    const std::string key = section + std::string(trim(text.substr(0, equals)));
    const std::string value(trim(text.substr(equals + 1)));
    if (key.empty() || is_reserved(key) || all_.find_nothrow(key, false) == nullptr) {
      throw config_error(where() + "unknown option '" + key + "'");
    }
    if (const auto placeholder = find_message_placeholder(value)) {
      throw config_error(where() + "value of '" + key + "' may not contain '" +
                         std::string(*placeholder) + "'");
    }
    if (key == "log-level" && !is_valid_log_level(value)) {
      throw config_error(where() + "invalid value '" + value + "' for 'log-level' (" +
                         log_level_expected + ")");
    }
    po::option option(key, {value});
    option.original_tokens = {key, value};
    try {
      store_one(all_, std::move(option), into);
    } catch (const po::error& e) {
      throw config_error(where() + "invalid value '" + value + "' for '" + key + "': " + e.what());
    }
  }
  if (in.bad())
    throw config_error("cannot read config file " + path + ": read error");
}

host_options options::to_host_options() {
  host_options result;
  result.shutdown_timeout = duration("shutdown-timeout");
  result.drain_delay = duration("drain-delay");
  result.supervisor_deadline = duration("supervisor-deadline");
  result.upgrade_timeout = duration("upgrade-timeout");
  if (has("pid-file"))
    result.pid_file = value<std::string>("pid-file");
  result.log_level = value<std::string>("log-level");
  result.name = program_;
  result.reload_config = [this] {
    reload();
    try_set_log_level(value<std::string>("log-level"));
  };
  return result;
}

}  // namespace lifetime::host

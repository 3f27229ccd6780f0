// SPDX-License-Identifier: MIT
#include <lifetime/cancellation.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace lifetime {

std::string detail::demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> readable(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  if (status != 0 || !readable)
    return mangled;
  // clang names a lambda of an internal-linkage function "$_0": say it as g++ does, so that a
  // log reads the same from both ("f()::{lambda()#1}").
  std::string name(readable.get());
  for (auto at = name.find("$_"); at != std::string::npos; at = name.find("$_", at)) {
    auto end = at + 2;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9')
      ++end;
    if (end == at + 2) {
      at = end;
      continue;
    }
    const auto ordinal = std::stoul(name.substr(at + 2, end - at - 2)) + 1;
    const auto lambda = "{lambda()#" + std::to_string(ordinal) + "}";
    name.replace(at, end - at, lambda);
    at += lambda.size();
  }
  return name;
}

cancellation_source cancellation_source::linked(std::span<const cancellation_token> parents,
                                                deadline_clock::time_point deadline) {
  // Parents are few (a request has three or four): keep their states on the stack. Default
  // tokens are left out, so that the state carries a link only for a real parent.
  constexpr std::size_t inline_capacity = 8;
  detail::cancellation_state* inline_states[inline_capacity];
  std::unique_ptr<detail::cancellation_state*[]> heap_states;
  detail::cancellation_state** states = inline_states;
  if (parents.size() > inline_capacity) {
    heap_states = std::make_unique<detail::cancellation_state*[]>(parents.size());
    states = heap_states.get();
  }
  std::size_t count = 0;
  for (const cancellation_token& parent : parents) {
    if (parent.state_ != nullptr)
      states[count++] = parent.state_;
  }
  return cancellation_source(detail::cancellation_state::create_linked(states, count, deadline));
}

}  // namespace lifetime

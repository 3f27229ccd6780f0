// SPDX-License-Identifier: MIT
#include <lifetime/cancellation.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace lifetime {

std::string detail::demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> readable(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && readable ? std::string(readable.get()) : std::string(mangled);
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

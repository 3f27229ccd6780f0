// SPDX-License-Identifier: MIT
// Internal: a per-thread cache of freed lifetime_registration blocks.
//
// Each thread keeps up to 64 freed blocks in a singly linked list and reuses them before calling
// operator new; a block freed on another thread than the one that allocated it simply joins that
// thread's list. A thread's list is returned to operator delete when the thread ends. No locks,
// no atomics: only the owning thread touches its list.
#include <cstddef>
#include <new>
#include <utility>

#include "handles.hpp"

namespace {

struct free_block {
  free_block* next;
};

class registration_cache {
 public:
  static constexpr int capacity = 64;

  registration_cache() = default;
  registration_cache(const registration_cache&) = delete;
  registration_cache& operator=(const registration_cache&) = delete;
  ~registration_cache() {
    while (head_ != nullptr)
      ::operator delete(std::exchange(head_, head_->next));
  }

  void* take() noexcept {
    if (head_ == nullptr)
      return nullptr;
    --count_;
    return std::exchange(head_, head_->next);
  }

  bool give(void* block) noexcept {
    if (count_ == capacity)
      return false;
    ++count_;
    head_ = new (block) free_block{head_};
    return true;
  }

 private:
  free_block* head_ = nullptr;
  int count_ = 0;
};

// initial-exec: one fs-relative load instead of a __tls_get_addr call (a few bytes of the static
// TLS that glibc reserves for libraries loaded later, e.g. by Python's ctypes).
[[gnu::tls_model("initial-exec")]] thread_local registration_cache cache;

static_assert(sizeof(lifetime_registration) >= sizeof(free_block));

}  // namespace

void* lifetime_registration::operator new(std::size_t size) {
  if (size == sizeof(lifetime_registration)) {
    if (void* block = cache.take())
      return block;
  }
  return ::operator new(size);
}

void lifetime_registration::operator delete(void* block, std::size_t size) noexcept {
  if (size == sizeof(lifetime_registration) && cache.give(block))
    return;
  ::operator delete(block);
}

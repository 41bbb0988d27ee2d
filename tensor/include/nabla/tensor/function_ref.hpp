#pragma once
// FunctionRef<R(Args...)>: a non-owning reference to a callable, for parameters that are called
// during the call and not kept (parallel_for's body). Unlike std::function it never allocates: a
// lambda capturing more than two references would otherwise cost a heap allocation per call.
// The callable must outlive the FunctionRef, so never store one beyond the call it was passed to.
#include <memory>
#include <type_traits>
#include <utility>

namespace nabla {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f) noexcept  // NOLINT: implicit, as std::function's
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace nabla

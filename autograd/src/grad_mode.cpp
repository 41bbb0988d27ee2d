#include "nabla/autograd/grad_mode.hpp"

#include <atomic>

namespace nabla {

namespace {
thread_local bool t_grad_enabled = true;
std::atomic<bool> g_anomaly_enabled{false};
}  // namespace

bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }
bool is_anomaly_enabled() { return g_anomaly_enabled.load(std::memory_order_relaxed); }
void set_anomaly_enabled(bool enabled) { g_anomaly_enabled.store(enabled, std::memory_order_relaxed); }

}  // namespace nabla

#pragma once
// Everything a nabla user may call.
#include "nabla/tensor.hpp"
#if __has_include("nabla/autograd.hpp")
#include "nabla/autograd.hpp"
#endif
#if __has_include("nabla/nn.hpp")
#include "nabla/nn.hpp"
#endif
#if __has_include("nabla/datasets.hpp")
#include "nabla/datasets.hpp"
#endif

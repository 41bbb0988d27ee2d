#pragma once
// The autograd layer: Variables, the tape, differentiable ops, and gradcheck.
#include "nabla/autograd/engine.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/gradcheck.hpp"
#include "nabla/autograd/node.hpp"
#include "nabla/autograd/variable.hpp"

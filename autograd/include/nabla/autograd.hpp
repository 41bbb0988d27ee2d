#pragma once
// The autograd layer: Tensor (what users hold), its ops and factories, the tape, and gradcheck.
#include "nabla/autograd/ctc.hpp"
#include "nabla/autograd/engine.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/fused_layers.hpp"
#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/gradcheck.hpp"
#include "nabla/autograd/node.hpp"
#include "nabla/autograd/recurrent.hpp"
#include "nabla/autograd/tensor.hpp"

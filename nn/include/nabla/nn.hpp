#pragma once
// The nn layer: modules, layers, the functional API, losses, initialisers, optimisers, gradient
// clipping, schedulers, and save/load.
#include "nabla/nn/clip_grad.hpp"
#include "nabla/nn/functional.hpp"
#include "nabla/nn/init.hpp"
#include "nabla/nn/layers.hpp"
#include "nabla/nn/module.hpp"
#include "nabla/nn/optim.hpp"
#include "nabla/nn/optimizer.hpp"
#include "nabla/nn/recurrent.hpp"
#include "nabla/nn/scheduler.hpp"
#include "nabla/nn/serialize.hpp"
#include "nabla/nn/transformer.hpp"
// issue 13: convolution, pooling and resampling layers
#include "nabla/nn/conv.hpp"
#include "nabla/nn/padding.hpp"
#include "nabla/nn/pooling.hpp"
#include "nabla/nn/resampling.hpp"

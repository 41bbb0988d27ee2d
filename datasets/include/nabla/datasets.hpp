#pragma once
// The datasets layer: datasets of (input, target) examples (in memory, subsets, transformed),
// samplers, transforms and the DataLoader; IDX files, MNIST and Fashion-MNIST, finding the data;
// and PNG pictures (image grids, confusion matrices, line charts).
#include "nabla/datasets/canvas.hpp"
#include "nabla/datasets/charts.hpp"
#include "nabla/datasets/data_path.hpp"
#include "nabla/datasets/dataloader.hpp"
#include "nabla/datasets/dataset.hpp"
#include "nabla/datasets/distributed_sampler.hpp"
#include "nabla/datasets/idx.hpp"
#include "nabla/datasets/map_dataset.hpp"
#include "nabla/datasets/mnist.hpp"
#include "nabla/datasets/png.hpp"
#include "nabla/datasets/random_key.hpp"
#include "nabla/datasets/sampler.hpp"
#include "nabla/datasets/transform.hpp"
#include "nabla/datasets/transforms.hpp"

#pragma once
// The datasets layer: IDX files, MNIST and Fashion-MNIST, finding the data, the DataLoader, and
// PNG pictures (image grids, confusion matrices, line charts). Depends only on nabla/tensor.
#include "nabla/datasets/canvas.hpp"
#include "nabla/datasets/charts.hpp"
#include "nabla/datasets/data_path.hpp"
#include "nabla/datasets/dataloader.hpp"
#include "nabla/datasets/dataset.hpp"
#include "nabla/datasets/idx.hpp"
#include "nabla/datasets/mnist.hpp"
#include "nabla/datasets/png.hpp"
#include "nabla/datasets/random_key.hpp"
#include "nabla/datasets/transform.hpp"
#include "nabla/datasets/transforms.hpp"

// matmul with NumPy semantics. float32/float64 go to OpenBLAS through detail::gemm, reading strided
// views in place where BLAS can (row-major rows, or a transposed view passed as a transpose flag);
// int64/uint8 use a plain loop that wraps around on overflow like NumPy's integer matmul.
#include "nabla/tensor/linalg.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <type_traits>

#include "blas.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"

namespace nabla::kernels {
namespace {

// How gemm reads one rows x cols matrix: as stored (row-major, leading dimension = row stride) or
// as the transpose of a row-major cols x rows matrix (leading dimension = column stride).
struct GemmLayout {
  bool transposed = false;
  int64_t leading_dim = 1;
};

// The gemm layout of a rows x cols matrix with these element strides, or nothing when BLAS cannot
// read it in place (it then gets a contiguous copy). Strides of extent-1 axes never matter.
std::optional<GemmLayout> gemm_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  const int64_t min_row_stride = std::max<int64_t>(cols, 1);
  const int64_t min_col_stride = std::max<int64_t>(rows, 1);
  if (cols == 1 || col_stride == 1) {
    if (rows == 1) return GemmLayout{false, min_row_stride};
    if (row_stride >= min_row_stride) return GemmLayout{false, row_stride};
  }
  if (rows == 1 || row_stride == 1) {
    if (cols == 1) return GemmLayout{true, min_col_stride};
    if (col_stride >= min_col_stride) return GemmLayout{true, col_stride};
  }
  return std::nullopt;
}

// A matrix operand [..., rows, cols] as gemm reads it: the tensor itself, or a contiguous copy
// when BLAS cannot read its layout. Refers to x (no handle copy), so x must outlive it.
class MatrixOperand {
 public:
  explicit MatrixOperand(const Tensor& x) : tensor_(&x) {
    const int64_t rows = x.size(-2), cols = x.size(-1);
    if (auto in_place = gemm_layout(rows, cols, x.stride(-2), x.stride(-1))) {
      layout = *in_place;
      return;
    }
    packed_ = x.contiguous();
    tensor_ = &packed_;
    layout = *gemm_layout(rows, cols, packed_.stride(-2), packed_.stride(-1));
  }
  explicit MatrixOperand(Tensor&&) = delete;  // would refer to a temporary
  MatrixOperand(const MatrixOperand&) = delete;
  MatrixOperand& operator=(const MatrixOperand&) = delete;

  const Tensor& tensor() const { return *tensor_; }
  GemmLayout layout;

 private:
  Tensor packed_;
  const Tensor* tensor_;
};

// Strides of x's batch axes (all but the last two) when broadcast to batch_shape: 0 where x has
// no such axis or extent 1.
Dims batch_strides(const Tensor& x, const Shape& batch_shape) {
  Dims strides = Dims::filled(batch_shape.size(), 0);
  const int64_t x_batch = x.dim() - 2;
  const int64_t lead = batch_shape.size() - x_batch;
  for (int64_t i = 0; i < x_batch; ++i) {
    if (x.size(i) != 1) strides[lead + i] = x.stride(i);
  }
  return strides;
}

// Calls fn(batch, a_offset, b_offset) for every batch index in row-major order.
template <class Fn>
void for_each_batch(const Shape& batch_shape, const Dims& a_strides, const Dims& b_strides, Fn&& fn) {
  const int64_t ndim = batch_shape.size();
  const int64_t count = shape_numel(batch_shape);
  std::array<int64_t, Dims::kMaxDims> index{};
  int64_t a_offset = 0, b_offset = 0;
  for (int64_t batch = 0; batch < count; ++batch) {
    fn(batch, a_offset, b_offset);
    for (int64_t axis = ndim - 1; axis >= 0; --axis) {
      int64_t& i = index[static_cast<size_t>(axis)];
      if (++i < batch_shape[axis]) {
        a_offset += a_strides[axis];
        b_offset += b_strides[axis];
        break;
      }
      a_offset -= (batch_shape[axis] - 1) * a_strides[axis];
      b_offset -= (batch_shape[axis] - 1) * b_strides[axis];
      i = 0;
    }
  }
}

// When every batch multiplies the same b, and a's batch axes and rows are evenly spaced rows of
// one matrix, the whole product is a single gemm with batch * m rows. Returns the row stride of
// that matrix, or nothing.
std::optional<int64_t> folded_row_stride(const Shape& batch_shape, const Dims& a_strides, const Dims& b_strides,
                                         const MatrixOperand& a) {
  if (a.layout.transposed) return std::nullopt;
  for (int64_t stride : b_strides) {
    if (stride != 0) return std::nullopt;
  }
  // (extent, stride) of every row-indexing axis, outermost first, extent-1 axes left out.
  Dims extents, strides;
  for (int64_t i = 0; i < batch_shape.size(); ++i) {
    if (batch_shape[i] != 1) {
      extents.push_back(batch_shape[i]);
      strides.push_back(a_strides[i]);
    }
  }
  const int64_t m = a.tensor().size(-2), k = a.tensor().size(-1);
  if (m != 1) {
    extents.push_back(m);
    strides.push_back(a.layout.leading_dim);
  }
  if (extents.empty()) return std::max<int64_t>(k, 1);
  for (int64_t i = 0; i + 1 < extents.size(); ++i) {
    if (strides[i] != strides[i + 1] * extents[i + 1]) return std::nullopt;
  }
  const int64_t row_stride = strides.back();
  if (row_stride < std::max<int64_t>(k, 1)) return std::nullopt;
  return row_stride;
}

template <class T>
void matmul_blas(const Tensor& a_in, const Tensor& b_in, Tensor& out, const Shape& batch_shape) {
  const MatrixOperand a(a_in);
  const MatrixOperand b(b_in);
  const int64_t m = a.tensor().size(-2), k = a.tensor().size(-1), n = b.tensor().size(-1);
  const Dims a_strides = batch_strides(a.tensor(), batch_shape);
  const Dims b_strides = batch_strides(b.tensor(), batch_shape);
  const T* a_data = a.tensor().data<T>();
  const T* b_data = b.tensor().data<T>();
  T* out_data = out.data<T>();
  const int64_t ldc = std::max<int64_t>(n, 1);

  if (auto row_stride = folded_row_stride(batch_shape, a_strides, b_strides, a)) {
    detail::gemm<T>(false, b.layout.transposed, shape_numel(batch_shape) * m, n, k, T(1), a_data,
                    *row_stride, b_data, b.layout.leading_dim, T(0), out_data, ldc);
    return;
  }
  // One gemm per batch; OpenBLAS threads each one.
  for_each_batch(batch_shape, a_strides, b_strides, [&](int64_t batch, int64_t a_offset, int64_t b_offset) {
    detail::gemm<T>(a.layout.transposed, b.layout.transposed, m, n, k, T(1), a_data + a_offset,
                    a.layout.leading_dim, b_data + b_offset, b.layout.leading_dim, T(0),
                    out_data + batch * m * n, ldc);
  });
}

// Integer matmul: a direct triple loop through the strides. Sums wrap modulo 2^64 (int64) or 2^8
// (uint8), as NumPy's do; they are accumulated unsigned so the wrap is defined behaviour.
template <class T>
void matmul_loop(const Tensor& a, const Tensor& b, Tensor& out, const Shape& batch_shape) {
  using Acc = std::make_unsigned_t<T>;
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const int64_t a_row = a.stride(-2), a_col = a.stride(-1), b_row = b.stride(-2), b_col = b.stride(-1);
  const T* a_data = a.data<T>();
  const T* b_data = b.data<T>();
  T* out_data = out.data<T>();
  for_each_batch(batch_shape, batch_strides(a, batch_shape), batch_strides(b, batch_shape),
                 [&](int64_t batch, int64_t a_offset, int64_t b_offset) {
    T* c = out_data + batch * m * n;
    for (int64_t i = 0; i < m; ++i) {
      const T* a_row_start = a_data + a_offset + i * a_row;
      for (int64_t j = 0; j < n; ++j) {
        const T* b_col_start = b_data + b_offset + j * b_col;
        Acc sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          sum += static_cast<Acc>(a_row_start[p * a_col]) * static_cast<Acc>(b_col_start[p * b_row]);
        }
        c[i * n + j] = static_cast<T>(sum);
      }
    }
  });
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  if (!a_in.defined() || !b_in.defined()) {
    fail("matmul: operand {} is undefined (default-constructed)", a_in.defined() ? "b" : "a");
  }
  if (a_in.dim() == 0 || b_in.dim() == 0) {
    fail("matmul: shapes {} and {} cannot be multiplied (a 0-d operand has no matrix dimension; "
         "use mul for scaling)", a_in.shape(), b_in.shape());
  }
  if (a_in.dtype() == DType::bool_ && b_in.dtype() == DType::bool_) {
    fail("matmul: not defined for two bool tensors (shapes {} and {}), as in PyTorch; convert with "
         ".to(nabla::int64) or .to(nabla::float32) first", a_in.shape(), b_in.shape());
  }
  // A 1-d a is a row [1, k]; a 1-d b is a column [k, 1]. The extra axes are dropped at the end.
  // (References, with the reshaped views held aside: copying a handle costs an atomic.)
  Tensor a_row, b_column;
  const Tensor& a = a_in.dim() == 1 ? (a_row = a_in.unsqueeze(0)) : a_in;
  const Tensor& b = b_in.dim() == 1 ? (b_column = b_in.unsqueeze(-1)) : b_in;
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  if (k != b.size(-2)) {
    fail("matmul: shapes {} and {} cannot be multiplied (inner dimensions {} != {})", a_in.shape(),
         b_in.shape(), k, b.size(-2));
  }

  // Batch axes broadcast (right-aligned, extent 1 stretches).
  const int64_t a_batch = a.dim() - 2, b_batch = b.dim() - 2;
  const int64_t batch_ndim = std::max(a_batch, b_batch);
  Shape batch_shape = Shape::filled(batch_ndim, 1);
  for (int64_t i = 0; i < batch_ndim; ++i) {
    const int64_t ai = i - (batch_ndim - a_batch), bi = i - (batch_ndim - b_batch);
    const int64_t a_extent = ai >= 0 ? a.size(ai) : 1;
    const int64_t b_extent = bi >= 0 ? b.size(bi) : 1;
    if (a_extent != b_extent && a_extent != 1 && b_extent != 1) {
      Shape a_batch_shape, b_batch_shape;
      for (int64_t j = 0; j < a_batch; ++j) a_batch_shape.push_back(a.size(j));
      for (int64_t j = 0; j < b_batch; ++j) b_batch_shape.push_back(b.size(j));
      fail("matmul: shapes {} and {} cannot be multiplied (batch dimensions {} and {} do not "
           "broadcast)", a_in.shape(), b_in.shape(), a_batch_shape, b_batch_shape);
    }
    batch_shape[i] = a_extent == 1 ? b_extent : a_extent;
  }

  Shape result_shape = batch_shape;
  if (a_in.dim() != 1) result_shape.push_back(m);
  if (b_in.dim() != 1) result_shape.push_back(n);

  const DType dtype = promote_types(a.dtype(), b.dtype());
  Shape out_shape = batch_shape;
  out_shape.push_back(m);
  out_shape.push_back(n);
  if (shape_numel(out_shape) == 0) return Tensor::empty(result_shape, dtype);
  if (k == 0) return zeros(result_shape, dtype);  // a sum of nothing

  Tensor out = Tensor::empty(out_shape, dtype);
  Tensor a_cast, b_cast;
  const Tensor& a_typed = a.dtype() == dtype ? a : (a_cast = a.to(dtype));
  const Tensor& b_typed = b.dtype() == dtype ? b : (b_cast = b.to(dtype));
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      matmul_blas<T>(a_typed, b_typed, out, batch_shape);
    } else if constexpr (!std::is_same_v<T, bool>) {  // bool was refused above
      matmul_loop<T>(a_typed, b_typed, out, batch_shape);
    }
  });
  return result_shape == out_shape ? out : out.view(result_shape);
}

}  // namespace nabla::kernels

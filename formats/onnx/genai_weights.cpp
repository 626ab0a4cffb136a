#include "genai_weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "matmul_nbits.h"
#include "tern/dtype.h"

namespace tern::onnx {
namespace {

float load_scale(const uint8_t* p, size_t i, bool half) {
  if (half) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return fp16_to_fp32(h);
  }
  float f;
  std::memcpy(&f, p + 4 * i, 4);
  return f;
}

}  // namespace

std::vector<uint8_t> q4zp_from_matmul_nbits(const uint8_t* codes, const uint8_t* scales, bool half_scales,
                                            const uint8_t* zero_points, size_t k, size_t rows, size_t block) {
  const size_t nb = (k + block - 1) / block, blob = block / 2, zp_row = (nb + 1) / 2;
  std::vector<uint8_t> out(dtype_tensor_bytes(DType::Q4_ZP, k, rows));
  for (size_t r = 0; r < rows; ++r)
    for (size_t b32 = 0; b32 < k / 32; ++b32) {
      const size_t e0 = b32 * 32, src = e0 / block, within = e0 % block;
      uint8_t* dst = out.data() + (r * (k / 32) + b32) * kQ4ZPBlockBytes;
      const float d = load_scale(scales, r * nb + src, half_scales);
      if (!std::isfinite(d)) return {};
      std::memcpy(dst, &d, 4);
      dst[4] = zero_points ? nbits_zero_point(zero_points + r * zp_row, src) : 8;
      q4_nibbles_from_nbits(codes + (r * nb + src) * blob + within / 2, dst + 5);
    }
  return out;
}

double rope_theta_from_tables(const uint8_t* cos, const uint8_t* sin, size_t P, size_t D, double hint) {
  const size_t half = D / 2;
  auto at = [&](const uint8_t* t, size_t p, size_t i) { return double(load_scale(t, p * half + i, false)); };
  // Each column's frequency from a row where its angle is near but below pi/2 (well conditioned);
  // log(freq_i) = -(2i / D) log(theta), fitted through the origin.
  double num = 0, den = 0;
  for (size_t i = 1; i < half && P > 1; ++i) {
    const double f1 = std::atan2(at(sin, 1, i), at(cos, 1, i));
    if (!(f1 > 0)) continue;
    // Clamp in double: a tiny angle (or a crafted table) puts 1.5 / f1 beyond size_t.
    const size_t p = size_t(std::clamp(1.5 / f1, 1.0, double(P - 1)));
    const double f = std::atan2(at(sin, p, i), at(cos, p, i)) / double(p);
    if (!(f > 0)) continue;
    const double x = 2.0 * double(i) / double(D);
    num += -x * std::log(f), den += x * x;
  }
  if (!(den > 0)) return 0;
  const double estimate = std::exp(num / den);
  auto worst_error = [&](double theta) {
    double worst = 0;
    for (size_t p = 0; p < P; ++p)
      for (size_t i = 0; i < half; ++i) {
        const float freq = float(1.0 / std::pow(theta, double(2 * i) / double(D)));
        const double angle = double(float(p) * freq);
        worst = std::max(
            {worst, std::fabs(std::cos(angle) - at(cos, p, i)), std::fabs(std::sin(angle) - at(sin, p, i))});
      }
    return worst;
  };
  constexpr double kTolerance = 2e-3;  // float tables of angles up to P: rounding, not another rule
  for (double theta : {hint, std::round(estimate), estimate})
    if (theta > 1 && std::isfinite(theta) && worst_error(theta) <= kTolerance) return theta;
  return 0;
}

}  // namespace tern::onnx

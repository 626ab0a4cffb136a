#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tern/error.h"
#include "tern/registry.h"
#include "test_util.h"

using namespace tern;
namespace fs = std::filesystem;

namespace {
const std::string kPacked = test::shared_dir() + "/models/bitnet-tinystories-3m-packed";
const std::string kBf16 = test::shared_dir() + "/models/bitnet-tinystories-3m-bf16";

std::string fresh_dir(const std::string& name) {
  const fs::path d = fs::path(test::tmp_dir()) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}
}  // namespace

TEST(SafeTensors, BothBitnetLayoutsGiveTheSameTernaryWeights) {
  auto packed = load_model_file(kPacked);
  auto bf16 = load_model_file(kBf16);
  EXPECT_EQ(packed->format, "safetensors");
  EXPECT_EQ(packed->get_string("general.architecture"), "bitnet");
  EXPECT_EQ(packed->get_string("tern.rope_layout"), "rotate_half");
  size_t projections = 0;
  for (const auto& t : packed->tensors) {
    const auto* o = bf16->find(t.name);
    ASSERT_TRUE(o) << t.name;
    ASSERT_EQ(t.type, o->type) << t.name;
    ASSERT_EQ(t.ne, o->ne) << t.name;
    if (t.type != DType::I2_S) continue;
    ++projections;
    const size_t n = t.n_elements();
    EXPECT_EQ(0, std::memcmp(t.data, o->data, n / 4)) << t.name << ": ternary values differ";
    const float a = tensor_scale(t.type, t.data, t.ne[0], t.n_rows()),
                b = tensor_scale(o->type, o->data, o->ne[0], o->n_rows());
    EXPECT_NEAR(a, b, std::fabs(a) * (1.0f / 128)) << t.name << ": scales differ beyond bf16 precision";
    // A trained ternary matrix is far from all-zero or all-sign: about a third of it should be zero.
    size_t zeros = 0;
    std::vector<float> row(t.ne[0]);
    for (size_t r = 0; r < t.n_rows(); ++r) {
      dequantize_row(DType::I2_S, t.data + r * t.ne[0] / 4, row.data(), t.ne[0], 1.0f);
      for (float v : row) zeros += v == 0.0f;
    }
    const double frac = double(zeros) / double(n);
    EXPECT_GT(frac, 0.2) << t.name;
    EXPECT_LT(frac, 0.5) << t.name;
  }
  EXPECT_EQ(projections, 8u * 7u);
  EXPECT_EQ(packed->get_string("tokenizer.ggml.model"), "llama");
}

TEST(SafeTensors, MissingConfigJson) {
  const std::string d = fresh_dir("no_config");
  fs::copy_file(kPacked + "/model.safetensors", d + "/model.safetensors");
  try {
    load_model_file(d);
    FAIL() << "loaded a checkpoint without config.json";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing config.json"), std::string::npos) << e.what();
  }
}

TEST(SafeTensors, BadHeaderIsRejected) {
  const std::string d = fresh_dir("bad_header");
  fs::copy_file(kPacked + "/config.json", d + "/config.json");
  auto write = [&](const std::string& bytes) {
    std::ofstream(d + "/model.safetensors", std::ios::binary) << bytes;
  };
  auto expect_error = [&](const std::string& fragment) {
    try {
      load_model_file(d);
      ADD_FAILURE() << "loaded a bad safetensors file";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
    }
  };
  std::string huge_len(8, '\xff');
  write(huge_len + "{}");
  expect_error("header length");
  std::string len(8, '\0');
  len[0] = 5;
  write(len + "{oops");
  expect_error("bad safetensors header");
  const std::string hdr = R"({"model.norm.weight":{"dtype":"F32","shape":[256],"data_offsets":[0,1024]}})";
  std::string l2(8, '\0');
  l2[0] = char(hdr.size());
  write(l2 + hdr + "abc");
  expect_error("data_offsets out of range");
}

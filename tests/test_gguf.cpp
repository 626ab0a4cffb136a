#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tern/error.h"
#include "tern/registry.h"
#include "test_util.h"

using namespace tern;

namespace {

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

ModelFile sample_model(std::vector<std::vector<uint8_t>>& buffers) {
  ModelFile m;
  m.meta["general.architecture"] = MetaValue::str("llama");
  MetaValue v;
  v.type = MetaType::U8;
  v.u = 200;
  m.meta["t.u8"] = v;
  v = {};
  v.type = MetaType::I8;
  v.i = -100;
  m.meta["t.i8"] = v;
  v = {};
  v.type = MetaType::U16;
  v.u = 60000;
  m.meta["t.u16"] = v;
  v = {};
  v.type = MetaType::I16;
  v.i = -30000;
  m.meta["t.i16"] = v;
  m.meta["t.u32"] = MetaValue::u32(4000000000u);
  m.meta["t.i32"] = MetaValue::i32(-2000000000);
  v = {};
  v.type = MetaType::U64;
  v.u = 1ull << 60;
  m.meta["t.u64"] = v;
  v = {};
  v.type = MetaType::I64;
  v.i = -(1ll << 60);
  m.meta["t.i64"] = v;
  m.meta["t.f32"] = MetaValue::f32(0.25f);
  v = {};
  v.type = MetaType::F64;
  v.f = 1e300;
  m.meta["t.f64"] = v;
  m.meta["t.bool"] = MetaValue::boolean(true);
  m.meta["t.str"] = MetaValue::str("héllo");
  m.meta["t.arr_i32"] =
      MetaValue::array(MetaType::I32, {MetaValue::i32(1), MetaValue::i32(-2), MetaValue::i32(3)});
  m.meta["t.arr_str"] = MetaValue::array(MetaType::STRING, {MetaValue::str("a"), MetaValue::str("")});
  m.meta["t.arr_arr"] =
      MetaValue::array(MetaType::ARRAY, {MetaValue::array(MetaType::F32, {MetaValue::f32(1.5f)})});
  auto add = [&](const std::string& name, DType t, std::vector<uint64_t> ne) {
    TensorInfo ti;
    ti.name = name;
    ti.type = t;
    ti.ne = ne;
    ti.nbytes = dtype_tensor_bytes(t, ne[0], ti.n_elements() / ne[0]);
    buffers.emplace_back(ti.nbytes);
    for (size_t i = 0; i < ti.nbytes; ++i) buffers.back()[i] = uint8_t(i * 31 + name.size());
    if (t == DType::F32)
      for (size_t i = 0; i < ti.nbytes / 4; ++i)
        reinterpret_cast<float*>(buffers.back().data())[i] = float(i) * 0.5f;
    ti.data = buffers.back().data();
    m.tensors.push_back(ti);
  };
  add("a.f32", DType::F32, {7, 3});
  add("b.q4_1", DType::Q4_1, {64, 2});
  add("c.i2s", DType::I2_S, {256, 4});
  add("d.tq1_0", DType::TQ1_0, {256, 1, 2});
  add("e.q8_0", DType::Q8_0, {32});
  add("f.tl2", DType::TL2, {100, 33});
  add("g.tl1", DType::TL1, {102, 17});
  return m;
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string p = test::tmp_dir() + "/" + name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_load_error(const std::string& path, const std::string& fragment) {
  try {
    load_model_file(path);
    ADD_FAILURE() << path << " loaded, expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Gguf, WriteThenReadIsIdentical) {
  std::vector<std::vector<uint8_t>> bufs;
  const ModelFile m = sample_model(bufs);
  const std::string path = test::tmp_dir() + "/roundtrip.gguf";
  Registry::instance().format("gguf").write(m, path);
  auto r = load_model_file(path);
  EXPECT_EQ(r->format, "gguf");
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->meta, m.meta);
  ASSERT_EQ(r->tensors.size(), m.tensors.size());
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    EXPECT_EQ(r->tensors[i].name, m.tensors[i].name);
    EXPECT_EQ(r->tensors[i].type, m.tensors[i].type);
    EXPECT_EQ(r->tensors[i].ne, m.tensors[i].ne);
    ASSERT_EQ(r->tensors[i].nbytes, m.tensors[i].nbytes);
    EXPECT_EQ(0, std::memcmp(r->tensors[i].data, m.tensors[i].data, m.tensors[i].nbytes))
        << m.tensors[i].name;
    EXPECT_EQ((r->tensors[i].data - r->tensors[0].data) % 32, 0);
  }
  // Writing what we read gives the same bytes.
  Registry::instance().format("gguf").write(*r, path + ".2");
  EXPECT_EQ(slurp(path), slurp(path + ".2"));
}

TEST(Gguf, PypiGgufPackageReadsOurFile) {
  if (std::string(TERN_PYTHON).empty()) GTEST_SKIP() << "needs the host Python (cross build under qemu)";
  std::vector<std::vector<uint8_t>> bufs;
  ModelFile m = sample_model(bufs);
  // I2_S (bitnet.cpp's type 36), TL1 and TL2 (tern's 1001, 1002) are unknown to the gguf package; it reads
  // llama.cpp's.
  std::erase_if(m.tensors, [](const TensorInfo& t) { return t.type == DType::I2_S || dtype_tiled(t.type); });
  const std::string path = test::tmp_dir() + "/for_pypi.gguf";
  Registry::instance().format("gguf").write(m, path);
  std::ostringstream expect;
  for (const auto& t : m.tensors) {
    expect << t.name << ' ' << uint32_t(t.type);
    for (auto d : t.ne) expect << ' ' << d;
    expect << ' ' << fnv1a(t.data, t.nbytes) << '\n';
  }
  const std::string want = write_bytes("for_pypi.expected", expect.str());
  const std::string cmd = std::string(TERN_PYTHON) + " " + test::source_dir() +
                          "/tests/python/check_gguf_with_pypi.py " + path + " " + want;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(Gguf, CorruptFilesGiveOneLineErrors) {
  std::vector<std::vector<uint8_t>> bufs;
  const ModelFile m = sample_model(bufs);
  const std::string good_path = test::tmp_dir() + "/good.gguf";
  Registry::instance().format("gguf").write(m, good_path);
  const std::string good = slurp(good_path);

  expect_load_error(write_bytes("truncated_header.gguf", good.substr(0, 30)), "truncated");
  expect_load_error(write_bytes("truncated_data.gguf", good.substr(0, good.size() - 40)), "past end of file");
  std::string bad = good;
  bad[0] = 'X';
  expect_load_error(write_bytes("wrong_magic.gguf", bad), "wrong magic");
  bad = good;
  bad[4] = 9;
  expect_load_error(write_bytes("bad_version.gguf", bad), "unsupported GGUF version 9");
  bad = good;
  const uint64_t huge = 1ull << 62;
  std::memcpy(&bad[8], &huge, 8);
  expect_load_error(write_bytes("huge_count.gguf", bad), "tensor count");
  // Corrupt the first tensor's dtype id and shape: find "a.f32" in the header.
  const size_t at = good.find("a.f32");
  ASSERT_NE(at, std::string::npos);
  bad = good;
  const uint32_t bogus_type = 77;
  std::memcpy(&bad[at + 5 + 4 + 16], &bogus_type, 4);
  expect_load_error(write_bytes("unknown_dtype.gguf", bad), "unknown dtype id 77");
  bad = good;
  const uint64_t absurd = 1ull << 50;
  std::memcpy(&bad[at + 5 + 4], &absurd, 8);
  expect_load_error(write_bytes("absurd_shape.gguf", bad), "absurd shape");
  bad = good;
  const uint64_t far = 1ull << 40;
  std::memcpy(&bad[at + 5 + 4 + 16 + 4], &far, 8);
  expect_load_error(write_bytes("offset_past_end.gguf", bad), "past end of file");
}

TEST(Gguf, WriterNeverLeavesAPartialFile) {
  std::vector<std::vector<uint8_t>> bufs;
  ModelFile m = sample_model(bufs);
  m.tensors[0].nbytes = 3;  // inconsistent with its shape: the writer must refuse before touching the target
  const std::string path = test::tmp_dir() + "/refused.gguf";
  std::filesystem::remove(path);
  EXPECT_THROW(Registry::instance().format("gguf").write(m, path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  for (const auto& e : std::filesystem::directory_iterator(test::tmp_dir()))
    EXPECT_EQ(e.path().filename().string().find("refused.gguf.tmp"), std::string::npos);
}

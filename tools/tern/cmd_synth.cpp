#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "tern/arch.h"
#include "tern/error.h"
#include "tern/registry.h"
#include "tern/synthetic.h"
#include "tern/tokenizer.h"
#include "tool_util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace tern::cli {

int cmd_synth(const std::vector<std::string>& args) {
  std::string preset, type_name = "i2_s", embd_name = "f16", out;
  int64_t layers = 0;
  uint64_t seed = 1;
  std::string tokenizer_path, arch;
  po::options_description opts(
      "tern synth --preset bitnet-2b4t|bitnet-large|tiny --type TYPE -o OUT.gguf\n"
      "Writes a benchmark model: real dimensions, random ternary weights (never commit the output)");
  opts.add_options()("help,h", "show this help")("preset", po::value(&preset), "architecture preset")(
      "type", po::value(&type_name)->default_value("i2_s"),
      "projection weight type (i2_s, tl1, tl2, tq1_0, tq2_0, f16, q8_0, ...)")(
      "embd-type", po::value(&embd_name)->default_value("f16"), "token embedding / output type")(
      "layers", po::value(&layers), "override the number of layers (for quick runs)")(
      "seed", po::value(&seed)->default_value(1), "random seed")(
      "tokenizer", po::value(&tokenizer_path),
      "embed this vocabulary (tokenizer.json, tokenizer.model or a GGUF "
      "with one; its size must be the preset's); default: none")(
      "arch", po::value(&arch),
      "write this architecture instead of the preset's (e.g. bitnet for llama.cpp, which "
      "has no bitnet-b1.58 graph: same weights, SiLU instead of relu²)")("out,o", po::value(&out),
                                                                         "output GGUF");
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (preset.empty() || out.empty()) throw Error("tern synth: give --preset and -o OUT.gguf");
  const auto type = dtype_from_name(type_name);
  if (!type) throw Error("tern synth: unknown --type '" + type_name + "'");
  const auto embd = dtype_from_name(embd_name);
  if (!embd || *embd == DType::I2_S || dtype_traits(*embd)->ternary)
    throw Error("tern synth: --embd-type must be a non-ternary type, not '" + embd_name + "'");
  auto spec = synthetic_preset(preset);
  if (vm.count("arch")) {
    const ArchDescriptor* a = find_arch(arch);
    if (!a || a->bitlinear != find_arch(spec.arch)->bitlinear) {
      const bool bitlinear = find_arch(spec.arch)->bitlinear;
      std::string same_kind;  // only these keep the preset's weights meaningful
      for (const auto& d : architectures())
        if (d.bitlinear == bitlinear) same_kind += (same_kind.empty() ? "" : ", ") + std::string(d.name);
      throw Error("tern synth: preset '" + preset + "' takes --arch " + same_kind + ", not '" + arch + "'");
    }
    spec.arch = arch;
  }
  if (vm.count("layers")) spec.n_layer = size_t(option_in_range("layers", layers, 1, 1024));
  ModelFile model = make_synthetic_model(spec, *type, *embd, seed);
  if (!tokenizer_path.empty()) {
    const Vocab vocab = Tokenizer::from_file(tokenizer_path)->vocab();
    if (vocab.tokens.size() != spec.n_vocab)
      throw Error("tern synth: " + tokenizer_path + " has " + std::to_string(vocab.tokens.size()) +
                  " tokens but preset " + preset + " has a vocabulary of " + std::to_string(spec.n_vocab));
    vocab.to_metadata(model.meta);
  }
  make_parent_directories(out);
  Registry::instance().format("gguf").write(model, out);
  std::printf("wrote %s: %s, %zu layers, projections %s, %.2f GiB\n", out.c_str(), preset.c_str(),
              spec.n_layer, dtype_name(*type), double(fs::file_size(out)) / (1 << 30));
  return 0;
}

}  // namespace tern::cli

#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>

#include "commands.h"
#include "tern/error.h"
#include "tern/version.h"

namespace {

void usage() {
  std::fputs(
      "usage: tern <command> [options]\n"
      "commands:\n"
      "  run        generate text from a model\n"
      "  backends   list kernel and format plugins, which can run here, and which is chosen\n"
      "  inspect    metadata, tensor table, tensor statistics (--tensor) and norm health (--ln)\n"
      "  validate   norm weights, projection weights and greedy probes; exit codes 0, 10-15\n"
      "  export     a model -> OUT_DIR/clean-f16.gguf (with fingerprint and provenance) and/or OUT_DIR/hf/ "
      "(Hugging Face)\n"
      "  quantize   clean GGUF -> ternary projections (i2_s, tl1, tl2, tq1_0, tq2_0), norms and embeddings "
      "untouched\n"
      "  baseline   write (-o) or re-check (--verify) a reproducible baseline document\n"
      "  manifest   deployment manifest (architecture, size, sha256, measured tok/s) as JSON\n"
      "  bench      prompt-processing and generation tokens/s per backend and thread count (--json)\n"
      "  synth      write a benchmark GGUF: real architecture dimensions, random ternary weights\n"
      "  serve      OpenAI-compatible HTTP server (chat / completions, streaming, continuous batching)\n"
      "  template   render a model's chat template (or a Jinja file) for a JSON conversation\n"
      "  tokenize   the token ids (and pieces) a model's tokenizer gives a text, like llama-tokenize\n"
      "Run 'tern <command> --help' for the options of a command; 'tern --version' for the version.\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  using Cmd = int (*)(const std::vector<std::string>&);
  const std::map<std::string, Cmd> commands = {
      {"run", tern::cli::cmd_run},           {"backends", tern::cli::cmd_backends},
      {"inspect", tern::cli::cmd_inspect},   {"validate", tern::cli::cmd_validate},
      {"export", tern::cli::cmd_export},     {"quantize", tern::cli::cmd_quantize},
      {"baseline", tern::cli::cmd_baseline}, {"manifest", tern::cli::cmd_manifest},
      {"bench", tern::cli::cmd_bench},       {"synth", tern::cli::cmd_synth},
      {"template", tern::cli::cmd_template}, {"tokenize", tern::cli::cmd_tokenize},
      {"serve", tern::cli::cmd_serve}};
  if (argc >= 2 && !std::strcmp(argv[1], "--version")) {
    std::printf("tern %s (%s)\n", tern::version(), tern::git_commit());
    return 0;
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::fprintf(stderr, "tern: unknown command '%s'\n", argv[1]);
    usage();
    return 1;
  }
  try {
    return it->second(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const tern::Error& e) {
    std::fprintf(stderr, "tern: error: %s\n", e.what());
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "tern %s: %s (see 'tern %s --help')\n", argv[1], e.what(), argv[1]);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tern: error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: error: %s\n", e.what());
  }
  return 1;
}

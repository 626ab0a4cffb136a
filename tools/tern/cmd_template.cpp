// `tern template`: a model's chat template rendered for a conversation, exactly as `tern run -cnv` and a
// server would feed it to the model, for checking a template (or a model's) before it ships.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "commands.h"
#include "tern/chat_template.h"
#include "tern/error.h"
#include "tern/model.h"
#include "tern/registry.h"
#include "tern/tokenizer.h"
#include "tool_util.h"

namespace po = boost::program_options;

namespace tern::cli {

int cmd_template(const std::vector<std::string>& args) {
  std::string model_path, template_path, messages_path, bos, eos;
  bool no_generation_prompt = false;
  po::options_description opts("tern template [MODEL] [options]");
  opts.add_options()("help,h", "show this help")(
      "model,m", po::value(&model_path), "model whose tokenizer.chat_template (and BOS / EOS) to use")(
      "template", po::value(&template_path), "a Jinja template file instead of the model's")(
      "messages", po::value(&messages_path)->required(),
      "JSON file ('-': stdin): an array of {role, content} messages, or an object of template variables")(
      "no-generation-prompt", po::bool_switch(&no_generation_prompt), "do not append the assistant's header")(
      "bos", po::value(&bos), "bos_token (default: the model's)")("eos", po::value(&eos),
                                                                  "eos_token (default: the model's)");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_command_line(args, opts, pos, vm)) return 0;
  if (model_path.empty() && template_path.empty()) throw Error("give a MODEL or --template FILE");

  std::string source, name;
  if (!model_path.empty()) {
    auto file = load_model_file(model_path);
    const auto tokenizer = Tokenizer::from_model_file(*file);
    if (!vm.count("bos")) bos = token_text(*tokenizer, tokenizer->bos());
    if (!vm.count("eos")) eos = token_text(*tokenizer, tokenizer->eos());
    source = file->get_string("tokenizer.chat_template");
    name = model_path;
    if (source.empty() && template_path.empty())
      throw Error(model_path + ": the model has no tokenizer.chat_template");
  }
  if (!template_path.empty()) {
    source = read_text_file(template_path);
    name = template_path;
  }
  const ChatTemplate tmpl(source, name);

  std::string text;
  if (messages_path == "-")
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  else
    text = read_text_file(messages_path);
  nlohmann::ordered_json ctx;
  try {
    ctx = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(messages_path + ": not valid JSON (" + e.what() + ")");
  }
  if (ctx.is_array()) ctx = nlohmann::ordered_json{{"messages", ctx}};
  if (!ctx.is_object() || !ctx.contains("messages") || !ctx["messages"].is_array())
    throw Error(messages_path + ": want an array of messages or an object with \"messages\"");
  if (!ctx.contains("add_generation_prompt")) ctx["add_generation_prompt"] = !no_generation_prompt;
  if (!ctx.contains("bos_token")) ctx["bos_token"] = bos;
  if (!ctx.contains("eos_token")) ctx["eos_token"] = eos;
  const std::string out = tmpl.render_json(ctx.dump());
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) throw Error("writing to stdout failed");
  return 0;
}

}  // namespace tern::cli

"""Small GGUF models written with PyPI gguf, for tests and fuzz seeds: the hyper-parameters and an SPM
vocabulary here, the tensors by the caller."""
import gguf


def start(path, arch, vocab, n, ff, layers, heads=4, kv_heads=2, ctx=64):
    """A GGUFWriter for `arch` with dim n, ffn ff, `layers` blocks, RoPE 10000, eps 1e-5, and `vocab` as a
    SentencePiece vocabulary (the first three tokens control, BOS 1, EOS 2, scores -id)."""
    w = gguf.GGUFWriter(path, arch)
    for key, v in (("embedding_length", n), ("block_count", layers), ("feed_forward_length", ff),
                   ("attention.head_count", heads), ("attention.head_count_kv", kv_heads), ("context_length", ctx)):
        w.add_uint32(f"{arch}.{key}", v)
    w.add_float32(f"{arch}.rope.freq_base", 10000.0)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_tokenizer_model("llama")
    w.add_token_list(vocab)
    w.add_token_scores([float(-i) for i in range(len(vocab))])
    w.add_token_types([3, 3, 3] + [1] * (len(vocab) - 3))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    return w


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

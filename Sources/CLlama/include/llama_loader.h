#ifndef AIQ_LLAMA_LOADER_H
#define AIQ_LLAMA_LOADER_H

#include <stddef.h>
#include <stdint.h>

/// llama.cpp opened with dlopen on first use: nothing of it is linked, so loading the extension needs no llama.cpp
/// and starts no thread. Returns NULL once the library is loaded, else why not (the same text every later call).
const char *aiq_llama_load(const char *library_path);

typedef struct aiq_llm aiq_llm;

/// A GGUF model and one context on it holding `sequences` rows at once, each with `sequence_tokens` of KV cache.
/// NULL on failure, with the reason in `error`.
aiq_llm *aiq_llm_open(const char *gguf_path, int32_t sequence_tokens, int32_t sequences, int32_t threads, char *error, size_t error_size);
void aiq_llm_close(aiq_llm *llm);
int32_t aiq_llm_sequences(const aiq_llm *llm);
int32_t aiq_llm_sequence_tokens(const aiq_llm *llm);
/// The weights' and the context's bytes (the KV cache of every sequence included).
uint64_t aiq_llm_bytes(const aiq_llm *llm);

/// The model's chat template applied to `count` messages, with the assistant's turn opened. The length written
/// (may exceed `size`: call again with a larger buffer); negative when the model has no usable template.
int32_t aiq_llm_chat_prompt(const aiq_llm *llm, const char *const *roles, const char *const *contents, size_t count, char *out,
                            int32_t size);

/// Token count of `text` (with the model's BOS when `special`), or negative: -(the count needed) when `capacity`
/// is too small.
int32_t aiq_llm_tokenize(const aiq_llm *llm, const char *text, int32_t length, int32_t special, int32_t *tokens, int32_t capacity);

typedef struct {
    int32_t max_tokens;
    float temperature;     ///< 0: greedy
    float top_p;           ///< 1: off
    int32_t top_k;         ///< 0: off
    uint32_t seed;
    float repeat_penalty;  ///< 1: off
} aiq_llm_sampling;

/// Puts a prompt in sequence `slot` (0 ..< sequences), replacing what was there; `grammar` (GBNF, root rule
/// "root") or NULL constrains what may be sampled. 0, or -1 with the reason in `error` (prompt longer than a
/// sequence's context, a grammar llama.cpp cannot parse).
int32_t aiq_llm_start(aiq_llm *llm, int32_t slot, const int32_t *prompt, int32_t prompt_count, aiq_llm_sampling sampling, const char *grammar,
                      char *error, size_t error_size);
/// Frees sequence `slot` (its KV cells and sampler); nothing if it is free.
void aiq_llm_stop(aiq_llm *llm, int32_t slot);

enum { AIQ_LLM_GOING = 0, AIQ_LLM_END_OF_ANSWER = 1, AIQ_LLM_END_MAX_TOKENS = 2, AIQ_LLM_END_CONTEXT = 3 };

/// What one step did to one sequence: the token it sampled, its text, and whether the sequence is done.
typedef struct {
    int32_t slot;
    int32_t token;
    int32_t end;     ///< AIQ_LLM_GOING, or why the answer ended (the piece, if any, still belongs to it)
    int32_t length;  ///< bytes of `piece` (UTF-8, possibly part of a character); 0 at the end of the answer
    char piece[256];
} aiq_llm_event;

/// One llama_decode over every started sequence: a token of each answer, and the next part of each prompt
/// (answers first). Writes one event per sequence that sampled a token (at most `sequences`) and returns their
/// count (0: nothing to do), or -1 with the reason in `error`. A sequence that ended stays started until
/// aiq_llm_stop.
int32_t aiq_llm_step(aiq_llm *llm, aiq_llm_event *events, char *error, size_t error_size);

#endif

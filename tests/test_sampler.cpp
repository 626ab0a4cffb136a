// Sampling controls and stop strings: penalties as llama.cpp applies them, min-p, and stop strings cut out of
// a stream at any piece boundary.
#include <gtest/gtest.h>

#include <set>

#include "tern/sampler.h"

namespace tern {
namespace {

SamplerParams greedy() {
  SamplerParams p;
  p.temperature = 0;
  return p;
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplerParams p = greedy();
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  // Token 0 (3.0) wins until it is penalized to 1.5, below token 2 (2.0).
  EXPECT_EQ(s.sample({3.0f, -1.0f, 2.0f}), 0);
  s.accept(0);
  EXPECT_EQ(s.sample({3.0f, -1.0f, 2.0f}), 2);
  // A negative logit is made more negative: -0.5 * 2 = -1.0 loses to -0.9.
  Sampler t(p);
  t.accept(0);
  EXPECT_EQ(t.sample({-0.5f, -0.9f}), 1);
}

TEST(Sampler, FrequencyAndPresencePenalties) {
  SamplerParams p = greedy();
  p.frequency_penalty = 0.5f;
  Sampler s(p);
  s.accept({0, 0, 0});  // 5.0 - 3 x 0.5 = 3.5 < 4.0
  EXPECT_EQ(s.sample({5.0f, 4.0f}), 1);
  SamplerParams q = greedy();
  q.presence_penalty = 0.9f;
  Sampler t(q);
  t.accept({0, 0, 0});  // once, whatever the count: 5.0 - 0.9 = 4.1 > 4.0
  EXPECT_EQ(t.sample({5.0f, 4.0f}), 0);
}

TEST(Sampler, PenaltiesForgetTokensOutsideTheWindow) {
  SamplerParams p = greedy();
  p.repeat_penalty = 10.0f;
  p.repeat_last_n = 2;
  Sampler s(p);
  s.accept({0, 1, 1});  // token 0 has left the window of 2
  EXPECT_EQ(s.sample({3.0f, 2.0f, 1.0f}), 0);
  p.repeat_last_n = 0;  // off
  Sampler off(p);
  off.accept({0, 0});
  EXPECT_EQ(off.sample({3.0f, 2.0f}), 0);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.2f;
  p.seed = 7;
  Sampler s(p);
  // p ~ [0.665, 0.245, 0.090]: token 2 is below 0.2 x 0.665.
  const std::vector<float> logits = {2.0f, 1.0f, 0.0f};
  std::set<int32_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(s.sample(logits));
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1}));
}

TEST(StopStrings, CutAtAnyPieceBoundaryAndNeverShown) {
  StopStrings s({"o w", "END"});
  std::string out;
  for (const char* piece : {"Hel", "lo", " w", "orld"}) {
    out += s.feed(piece);
    if (s.stopped()) break;
  }
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(out + s.flush(), "Hell");
}

TEST(StopStrings, HeldBackTextComesOutWhenItIsNoStop) {
  StopStrings s({"END"});
  EXPECT_EQ(s.feed("abcE"), "abc");  // "E" may start "END"
  EXPECT_EQ(s.feed("N"), "");
  EXPECT_EQ(s.feed("x"), "ENx");
  EXPECT_EQ(s.feed("EN"), "");
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.flush(), "EN");
}

}  // namespace
}  // namespace tern

/**
 * How the `weighted` and `quality` racing modes pick among the answers that arrived within the
 * grace window (src/balancer/race-runner.ts collects them):
 *
 *  - weighted: lowest score wins, where for each answer
 *      expected = speed_weight * t + (1 - speed_weight) * ewma
 *      score    = expected / max(0.05, 1 - error_rate)
 *    t is this leg's time to its answer (time to first token for streams), ewma the member's
 *    latency EWMA (time to first token EWMA for streams; t itself before its first sample) and
 *    error_rate its recent failure share. A fast answer from a member that usually fails or is
 *    usually slow can lose to a slightly slower answer from a steady one.
 *  - quality: highest score of a named answer scorer wins. Built in: `longest_complete`, the
 *    longest answer that finished with `stop` (answers cut by `length` or a filter rank below
 *    every complete one). Register another with `registerAnswerScorer(name, scorer)` before the
 *    config is loaded, then name it in `strategy_options.racing.scorer`.
 *
 * Ties go to the earlier answer.
 */
import type { EndpointView } from "../core/endpoint-view.js";
import type { FinishReason } from "../core/provider.js";

/** One answer a race leg gave within the grace window. */
export interface RaceAnswer {
  /** The member or endpoint that gave it. */
  readonly view: EndpointView;
  /** Time from the leg's start to its answer (streams: first token for weighted, end for quality), ms. */
  readonly latencyMs: number;
  /** The answer text (streams under weighted: the text received so far). */
  readonly content: string;
  readonly finishReason?: FinishReason;
  /** Tool calls in the answer. */
  readonly toolCalls: number;
}

/** Rates an answer for the `quality` mode: higher is better. Must be pure and fast. */
export type AnswerScorer = (answer: RaceAnswer) => number;

const scorers = new Map<string, AnswerScorer>();

/** Make `scorer` available to `strategy_options.racing.scorer` under `name`. */
export function registerAnswerScorer(name: string, scorer: AnswerScorer): void {
  scorers.set(name, scorer);
}

export function answerScorer(name: string): AnswerScorer | undefined {
  return scorers.get(name);
}

export function answerScorerNames(): string[] {
  return [...scorers.keys()];
}

/** The default quality scorer: the longest answer that finished with `stop`. */
export const longestComplete: AnswerScorer = (a) => (a.finishReason === "stop" ? a.content.length : -1);
registerAnswerScorer("longest_complete", longestComplete);

/** The weighted mode's score of one answer (lower is better); see the file comment. */
export function weightedScore(a: RaceAnswer, speedWeight: number, stream: boolean): number {
  const ewma = stream ? a.view.ewmaTtftMs : a.view.ewmaLatencyMs;
  const history = a.view.samples > 0 && ewma > 0 ? ewma : a.latencyMs;
  const expected = speedWeight * a.latencyMs + (1 - speedWeight) * history;
  return expected / Math.max(0.05, 1 - a.view.errorRate);
}

/** Index of the best answer: lowest `score` when `lowerWins`, else highest; ties to the earlier. */
export function bestAnswer(answers: readonly RaceAnswer[], score: (a: RaceAnswer) => number, lowerWins: boolean): number {
  let best = 0;
  let bestScore = score(answers[0]!);
  for (let i = 1; i < answers.length; i++) {
    const s = score(answers[i]!);
    if (lowerWins ? s < bestScore : s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

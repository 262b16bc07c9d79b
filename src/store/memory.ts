// In-process implementations of the store contracts, for tests that exercise the HTTP path without a database.
import type { FeedbackItem } from '../cds/types.js';
import type { AssertionRecord, AssertionSink, FeedbackStore } from './types.js';

export class MemoryAssertionSink implements AssertionSink {
  readonly records: AssertionRecord[] = [];
  record(assertion: AssertionRecord): void {
    this.records.push(assertion);
  }
}

export class MemoryFeedbackStore implements FeedbackStore {
  readonly items: { serviceId: string; item: FeedbackItem }[] = [];
  private readonly keys = new Set<string>();
  async saveFeedback(serviceId: string, items: FeedbackItem[]) {
    let stored = 0;
    let duplicates = 0;
    for (const item of items) {
      const key = `${item.card}|${item.outcome}|${item.outcomeTimestamp}`;
      if (this.keys.has(key)) {
        duplicates++;
        continue;
      }
      this.keys.add(key);
      this.items.push({ serviceId, item });
      stored++;
    }
    return { stored, duplicates, orphans: 0 };
  }
}

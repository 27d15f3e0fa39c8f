package dev.gblm.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SentencePiece's BPE segmentation: start from single characters (user-defined pieces matched
 * whole and never merged further), then repeatedly merge the adjacent pair whose concatenation is
 * a piece with the highest score, the leftmost pair on ties.
 *
 * <p>Symbols form a doubly linked list over the text and candidate pairs sit in a heap keyed by
 * (score, left position), so a text of n characters costs O(n log n), not O(n²). Heap entries are
 * not removed when a merge invalidates them; a popped entry is re-validated against the current
 * neighbours instead (see {@link #encode}).
 */
final class BpeMerger {
    private final Map<String, Integer> mergeable;
    private final float[] scores;
    private final boolean[] unused;
    private final Set<String> userDefined;
    private final int maxUserDefinedLength;

    /**
     * @param mergeable pieces a merge may produce (SentencePiece's normal, user-defined and unused
     *     pieces) with their ids
     * @param scores score by id
     * @param unused true for ids of unused pieces, which are split back into their parts at the end
     * @param userDefined pieces matched whole before merging
     */
    BpeMerger(Map<String, Integer> mergeable, float[] scores, boolean[] unused, Set<String> userDefined) {
        this.mergeable = Map.copyOf(mergeable);
        this.scores = scores.clone();
        this.unused = unused.clone();
        this.userDefined = Set.copyOf(userDefined);
        this.maxUserDefinedLength = userDefined.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Segments an already normalized text into pieces (unknown characters stay single symbols). */
    List<String> encode(String text) {
        int n = text.length();
        if (n == 0) {
            return List.of();
        }
        // Symbol i covers text[start[i], end[i]); symbols are indexed by their initial position.
        int[] start = new int[n];
        int[] end = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] frozen = new boolean[n];
        int count = 0;
        for (int pos = 0; pos < n; ) {
            int len = userDefinedMatch(text, pos);
            boolean isUserDefined = len > 0;
            if (!isUserDefined) {
                len = Character.charCount(text.codePointAt(pos));
            }
            start[count] = pos;
            end[count] = pos + len;
            frozen[count] = isUserDefined;
            prev[count] = count - 1;
            next[count] = count + 1;
            count++;
            pos += len;
        }
        next[count - 1] = -1;

        LongHeap agenda = new LongHeap(count);
        for (int i = 0; i + 1 < count; i++) {
            offer(text, agenda, i, i + 1, start, end, frozen);
        }
        Map<String, String[]> splits = new HashMap<>();
        while (!agenda.isEmpty()) {
            long key = agenda.poll();
            int left = (int) key;
            int right = next[left];
            // A stale entry is skipped unless the pair now at `left` has the same key, in which
            // case it is indistinguishable from the fresh entry that pair pushed: merging it now
            // is exactly what the fresh entry would cause.
            if (end[left] < 0 || right < 0 || frozen[left] || frozen[right]) {
                continue;
            }
            String merged = text.substring(start[left], end[right]);
            Integer id = mergeable.get(merged);
            if (id == null || key(scores[id], left) != key) {
                continue;
            }
            if (unused[id]) {
                splits.put(merged, new String[] {
                    text.substring(start[left], end[left]), text.substring(start[right], end[right])});
            }
            end[left] = end[right];
            end[right] = -1; // marks the symbol dead
            next[left] = next[right];
            if (next[left] >= 0) {
                prev[next[left]] = left;
            }
            if (prev[left] >= 0) {
                offer(text, agenda, prev[left], left, start, end, frozen);
            }
            if (next[left] >= 0) {
                offer(text, agenda, left, next[left], start, end, frozen);
            }
        }

        List<String> out = new ArrayList<>();
        for (int i = 0; i >= 0; i = next[i]) {
            resegment(text.substring(start[i], end[i]), splits, out);
        }
        return out;
    }

    private void offer(String text, LongHeap agenda, int left, int right, int[] start, int[] end, boolean[] frozen) {
        if (frozen[left] || frozen[right]) {
            return;
        }
        Integer id = mergeable.get(text.substring(start[left], end[right]));
        if (id != null) {
            agenda.add(key(scores[id], left));
        }
    }

    /** Unused pieces are not valid output: undo the merges that produced them. */
    private void resegment(String piece, Map<String, String[]> splits, List<String> out) {
        Integer id = mergeable.get(piece);
        String[] parts = splits.get(piece);
        if (id == null || !unused[id] || parts == null) {
            out.add(piece);
            return;
        }
        resegment(parts[0], splits, out);
        resegment(parts[1], splits, out);
    }

    private int userDefinedMatch(String text, int pos) {
        for (int len = Math.min(maxUserDefinedLength, text.length() - pos); len > 0; len--) {
            if (userDefined.contains(text.substring(pos, pos + len))) {
                return len;
            }
        }
        return 0;
    }

    /**
     * Orders by descending score, then ascending left position, as a signed long: the high word is
     * the bitwise complement of the score's order-preserving integer image.
     */
    static long key(float score, int left) {
        int bits = Float.floatToIntBits(score);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~ordered << 32) | (left & 0xffffffffL);
    }

    /** A binary min-heap of primitive longs (a PriorityQueue<Long> would box every entry). */
    private static final class LongHeap {
        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long v) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, heap.length * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= v) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = v;
        }

        long poll() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            int half = size >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                if (child + 1 < size && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (last <= heap[child]) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }
}

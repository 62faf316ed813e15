/* A customizable contraction hierarchy (CCH) searched by elimination-tree walks, for routing/etree.py.
 *
 * Nodes are numbered by their rank in a nested-dissection order (0 = contracted first), so "higher" means a larger
 * id. The CCH holds, for each node x, its upward neighbours up(x) (sorted ascending) in the chordal completion of
 * the road graph; the lowest of them is x's parent in the elimination tree, and every upward neighbour is an
 * ancestor. Each arc a = (x, y), x < y, carries two weights: fwd[a] (seconds from x to y) and bwd[a] (y to x).
 *
 * A shortest path from s to t is the best of d_up(s, v) + d_down(v, t) over the common ancestors v of s and t,
 * (Each arc also carries the metres of the path that gave it its seconds, so a walk knows its road distance.)
 * where d_up walks s's ancestors in ascending order relaxing fwd and d_down does the same from t with bwd. Both
 * walks are independent of each other, so a unit's walk can be kept while only the incident's walk is new.
 *
 * Like _dijkstra.c this file keeps no state: every array belongs to the caller (the scratch arrays to one thread
 * at a time), so calls on different scratch arrays may run at once with the GIL released. Ids from the caller
 * (edges' ends, starts, parents) are checked, and growth is bounded by the caller's capacities: an overflow is an
 * error code, never a stray write. The hierarchy's own arrays (up_head, the down lists, arcs' edges, kept walks)
 * are trusted: cch_build and routing/etree.py make them, and nothing else writes them.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CCH_OUT_OF_ROOM -2
#define CCH_BAD_GRAPH -3
#define CCH_NO_MEMORY -4

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sort ascending and drop repeats in place; returns the new length. */
static int64_t sort_unique(int32_t *v, int64_t len) {
    if (len < 2) return len;
    qsort(v, (size_t)len, sizeof(int32_t), cmp_int32);
    int64_t out = 1;
    for (int64_t i = 1; i < len; i++)
        if (v[i] != v[out - 1]) v[out++] = v[i];
    return out;
}

typedef struct {
    int32_t *items;
    int64_t len, cap;
} Vec;

static int vec_push_all(Vec *v, const int32_t *items, int64_t count) {
    if (v->len + count > v->cap) {
        int64_t cap = v->cap ? v->cap : 4;
        while (cap < v->len + count) cap *= 2;
        int32_t *grown = realloc(v->items, (size_t)cap * sizeof(int32_t));
        if (!grown) return CCH_NO_MEMORY;
        v->items = grown;
        v->cap = cap;
    }
    memcpy(v->items + v->len, items, (size_t)count * sizeof(int32_t));
    v->len += count;
    return 0;
}

/* The chordal completion of an undirected graph given as (lower, higher) pairs in rank numbering.
 * Writes up_first[n + 1], up_head[<= cap_arcs] and parent[n] (-1 for roots); returns the arc count or an error. */
int64_t cch_build(int32_t n, int64_t n_pairs, const int32_t *lower, const int32_t *higher, int64_t cap_arcs,
                  int64_t *up_first, int32_t *up_head, int32_t *parent) {
    Vec *up = calloc((size_t)n, sizeof(Vec));
    if (!up) return CCH_NO_MEMORY;
    int64_t result = 0, arcs = 0;
    for (int64_t i = 0; i < n_pairs; i++) {
        int32_t x = lower[i], y = higher[i];
        if (x < 0 || y >= n || x >= y) { result = CCH_BAD_GRAPH; goto done; }
        if (vec_push_all(&up[x], &y, 1)) { result = CCH_NO_MEMORY; goto done; }
    }
    for (int32_t x = 0; x < n; x++) {
        Vec *v = &up[x];
        v->len = sort_unique(v->items, v->len);
        up_first[x] = arcs;
        if (arcs + v->len > cap_arcs) { result = CCH_OUT_OF_ROOM; goto done; }
        if (v->len) memcpy(up_head + arcs, v->items, (size_t)v->len * sizeof(int32_t));
        arcs += v->len;
        parent[x] = v->len ? v->items[0] : -1;
        if (v->len > 1 && vec_push_all(&up[v->items[0]], v->items + 1, v->len - 1)) {
            result = CCH_NO_MEMORY;
            goto done;
        }
        free(v->items);
        v->items = NULL;
        v->len = v->cap = 0;
    }
    up_first[n] = arcs;
    result = arcs;
done:
    for (int32_t x = 0; x < n; x++) free(up[x].items);
    free(up);
    return result;
}

/* Keep the faster of two ways, the shorter on equal seconds: the same answer whatever order they come in. */
static inline int better(double *seconds, double *metres, double new_seconds, double new_metres) {
    if (new_seconds < *seconds || (new_seconds == *seconds && new_metres < *metres)) {
        *seconds = new_seconds;
        *metres = new_metres;
        return 1;
    }
    return 0;
}

/* The arc (x, y) for x < y, or -1: a binary search in x's sorted upward neighbours. */
static int64_t find_arc(const int64_t *up_first, const int32_t *up_head, int32_t x, int32_t y) {
    int64_t lo = up_first[x], hi = up_first[x + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (up_head[mid] < y) lo = mid + 1;
        else hi = mid;
    }
    return lo < up_first[x + 1] && up_head[lo] == y ? lo : -1;
}

/* Basic customization: the input edges' seconds (tail, head in rank numbering; inf for a closed edge) put on
 * their arcs, then every lower triangle x < y < z applied in ascending x, so each arc ends as the fastest way
 * between its ends through lower nodes. Writes fwd and bwd (one per arc). */
int cch_customize(int32_t n, const int64_t *up_first, const int32_t *up_head, int64_t n_edges,
                  const int32_t *tail, const int32_t *head, const double *seconds, const double *metres,
                  double *fwd, double *bwd, double *fwd_m, double *bwd_m) {
    int64_t arcs = up_first[n];
    for (int64_t a = 0; a < arcs; a++) {
        fwd[a] = bwd[a] = INFINITY;
        fwd_m[a] = bwd_m[a] = 0.0;
    }
    for (int64_t e = 0; e < n_edges; e++) {
        int32_t u = tail[e], v = head[e];
        if (u < 0 || u >= n || v < 0 || v >= n) return CCH_BAD_GRAPH;
        if (u == v) continue;
        int64_t a = u < v ? find_arc(up_first, up_head, u, v) : find_arc(up_first, up_head, v, u);
        if (a < 0) return CCH_BAD_GRAPH;
        better((u < v ? fwd : bwd) + a, (u < v ? fwd_m : bwd_m) + a, seconds[e], metres[e]);
    }
    for (int32_t x = 0; x < n; x++) {
        int64_t first = up_first[x], last = up_first[x + 1];
        for (int64_t i = first; i < last; i++) {
            int32_t y = up_head[i];
            double down_xy = bwd[i], up_xy = fwd[i];  /* y -> x and x -> y */
            if (down_xy == INFINITY && up_xy == INFINITY) continue;
            int64_t k = up_first[y], k_end = up_first[y + 1];
            for (int64_t j = i + 1; j < last; j++) {  /* z = up_head[j] > y, and (y, z) is an arc: find it */
                int32_t z = up_head[j];
                while (k < k_end && up_head[k] < z) k++;
                if (k == k_end || up_head[k] != z) return CCH_BAD_GRAPH;  /* not chordal: a bug upstream */
                better(&fwd[k], &fwd_m[k], down_xy + fwd[j], bwd_m[i] + fwd_m[j]);  /* y -> x -> z */
                better(&bwd[k], &bwd_m[k], bwd[j] + up_xy, bwd_m[j] + fwd_m[i]);  /* z -> x -> y */
            }
        }
    }
    return 0;
}

/* Walk up the elimination tree from `sources` (with starting seconds), relaxing `weight` (fwd for a walk from a
 * start, bwd for a walk to a goal). Writes the ancestors reached, ascending, to out_nodes and their seconds to
 * out_seconds (inf where unreachable), with the metres of those paths in out_metres; returns how many, or an
 * error. `scratch` (n doubles, all inf), `scratch_m` (n doubles, all 0) and `seen` (n bytes, all 0) are left as
 * they were found. */
int64_t cch_walk(int32_t n, const int64_t *up_first, const int32_t *up_head, const int32_t *parent,
                 const double *weight, const double *weight_m, int32_t n_sources, const int32_t *sources,
                 const double *start_seconds, const double *start_metres, double *scratch, double *scratch_m,
                 uint8_t *seen, int64_t cap, int32_t *out_nodes, double *out_seconds, double *out_metres) {
    int64_t count = 0, result = 0;
    int sorted = 1;
    for (int32_t i = 0; i < n_sources; i++) {
        int32_t v = sources[i];
        if (v < 0 || v >= n) { result = CCH_BAD_GRAPH; goto reset; }
        better(&scratch[v], &scratch_m[v], start_seconds[i], start_metres[i]);
        int64_t steps = 0;
        while (v >= 0 && !seen[v]) {
            if (count >= cap || ++steps > n) { result = count >= cap ? CCH_OUT_OF_ROOM : CCH_BAD_GRAPH; goto reset; }
            seen[v] = 1;
            if (count && out_nodes[count - 1] > v) sorted = 0;
            out_nodes[count++] = v;
            int32_t p = parent[v];
            if (p != -1 && (p <= v || p >= n)) { result = CCH_BAD_GRAPH; goto reset; }
            v = p;
        }
    }
    if (!sorted) qsort(out_nodes, (size_t)count, sizeof(int32_t), cmp_int32);
    for (int64_t i = 0; i < count; i++) {
        int32_t v = out_nodes[i];
        double d = scratch[v], m = scratch_m[v];
        out_seconds[i] = d;
        out_metres[i] = m;
        if (d == INFINITY) continue;
        for (int64_t a = up_first[v]; a < up_first[v + 1]; a++) {
            int32_t h = up_head[a];
            better(&scratch[h], &scratch_m[h], d + weight[a], m + weight_m[a]);
        }
    }
    result = count;
reset:
    for (int64_t i = 0; i < count; i++) {
        scratch[out_nodes[i]] = INFINITY;
        scratch_m[out_nodes[i]] = 0.0;
        seen[out_nodes[i]] = 0;
    }
    for (int32_t i = 0; i < n_sources; i++)
        if (sources[i] >= 0 && sources[i] < n) {
            scratch[sources[i]] = INFINITY;
            scratch_m[sources[i]] = 0.0;
        }
    return result;
}

/* For each kept start walk k — row k of `walks`: the addresses of its nodes (ascending), seconds and metres
 * arrays, and its length — the best seconds over the nodes v it shares with the goal's walk of seconds +
 * goal[v], and the metres of that path. A kept walk is one node's ancestors, and the goal's walk holds all
 * ancestors of its nodes, so the shared nodes are the top of the kept walk: it is read from its end, down to the
 * first node the goal's walk lacks (`in_goal`: one byte per node). `goal`, `goal_m`: dense, n doubles. */
int cch_join(int32_t n, int32_t n_walks, const int64_t *walks, const uint8_t *in_goal, const double *goal,
             const double *goal_m, double *out, double *out_m) {
    for (int32_t k = 0; k < n_walks; k++) {
        const int64_t *row = walks + 4 * (int64_t)k;
        const int32_t *nodes = (const int32_t *)(intptr_t)row[0];
        const double *seconds = (const double *)(intptr_t)row[1];
        const double *metres = (const double *)(intptr_t)row[2];
        double best = INFINITY, best_m = INFINITY;
        for (int64_t i = row[3] - 1; i >= 0; i--) {
            int32_t v = nodes[i];
            if (v < 0 || v >= n) return CCH_BAD_GRAPH;
            if (!in_goal[v]) break;
            better(&best, &best_m, seconds[i] + goal[v], metres[i] + goal_m[v]);
        }
        out[k] = best;
        out_m[k] = best == INFINITY ? INFINITY : best_m;
    }
    return 0;
}

/* Each edge's arc (-1 for a loop); the edge runs up the arc when tail < head. */
int cch_edge_arcs(int32_t n, const int64_t *up_first, const int32_t *up_head, int64_t n_edges, const int32_t *tail,
                  const int32_t *head, int64_t *out_arc) {
    for (int64_t e = 0; e < n_edges; e++) {
        int32_t u = tail[e], v = head[e];
        if (u < 0 || u >= n || v < 0 || v >= n) return CCH_BAD_GRAPH;
        out_arc[e] = u == v ? -1 : u < v ? find_arc(up_first, up_head, u, v) : find_arc(up_first, up_head, v, u);
        if (u != v && out_arc[e] < 0) return CCH_BAD_GRAPH;
    }
    return 0;
}

/* Whether a way through a changed arc bears on an arc that holds (seconds, metres): it was that arc's best way
 * (so the arc may get worse), or it now beats it. */
static inline int touches(double seconds, double metres, double old_s, double old_m, double new_s, double new_m) {
    if (old_s == seconds && old_m == metres && (old_s != new_s || old_m != new_m)) return 1;
    return new_s < seconds || (new_s == seconds && new_m < metres);
}

typedef struct {
    int64_t *arc;
    int32_t *low;
    int64_t size, cap;
} ArcHeap;

static int arc_heap_push(ArcHeap *h, int64_t arc, int32_t low) {
    if (h->size == h->cap) {
        int64_t cap = h->cap ? h->cap * 2 : 1024;
        int64_t *arcs = realloc(h->arc, (size_t)cap * sizeof(int64_t));
        if (!arcs) return CCH_NO_MEMORY;
        h->arc = arcs;
        int32_t *lows = realloc(h->low, (size_t)cap * sizeof(int32_t));
        if (!lows) return CCH_NO_MEMORY;
        h->low = lows;
        h->cap = cap;
    }
    int64_t i = h->size++;
    while (i > 0 && h->low[(i - 1) / 2] > low) {
        h->arc[i] = h->arc[(i - 1) / 2];
        h->low[i] = h->low[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->arc[i] = arc;
    h->low[i] = low;
    return 0;
}

static int64_t arc_heap_pop(ArcHeap *h) {
    int64_t top = h->arc[0], last = h->arc[--h->size];
    int32_t last_low = h->low[h->size];
    int64_t i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= h->size) break;
        if (child + 1 < h->size && h->low[child + 1] < h->low[child]) child++;
        if (h->low[child] >= last_low) break;
        h->arc[i] = h->arc[child];
        h->low[i] = h->low[child];
        i = child;
    }
    h->arc[i] = last;
    h->low[i] = last_low;
    return top;
}

/* Partial customization: bring fwd/bwd (and metres) from an earlier metric to new edge seconds, recomputing only
 * the arcs whose input edges changed (`changed`) and, transitively, the arcs whose lower triangles use an arc that
 * changed (only those the changed way was the best way for, or now beats). Arcs come off a queue by their lower
 * end, ascending, so each is recomputed from final lower arcs, and once. (When two arcs of one lower node change,
 * the first one processed still sees the other's old value, so a triangle through both is never missed.) Each recomputation starts from the arc's own edges (arc_edge_first/arc_edges: edges per arc) and takes
 * every lower triangle (down_first/down_tail/down_arc: each node's lower neighbours, ascending, with the arc).
 * `queued` (one byte per arc, all 0) is left as found; `moved` (one byte per node) gets 1 at the lower end of each
 * arc that changed. Returns how many arcs changed, or an error. */
int64_t cch_update(int32_t n, const int64_t *up_first, const int32_t *up_head, const int32_t *arc_low,
                   const int64_t *down_first, const int32_t *down_tail, const int32_t *down_arc,
                   const int64_t *arc_edge_first, const int64_t *arc_edges, const int32_t *tail,
                   const double *seconds, const double *metres, int64_t n_changed, const int64_t *changed,
                   double *fwd, double *bwd, double *fwd_m, double *bwd_m, uint8_t *queued, uint8_t *moved) {
    ArcHeap heap = {0};
    int64_t arcs = up_first[n], result = 0, updated = 0;
    for (int64_t i = 0; i < n_changed; i++) {
        int64_t a = changed[i];
        if (a < 0 || a >= arcs) { result = CCH_BAD_GRAPH; goto done; }
        if (queued[a]) continue;
        queued[a] = 1;
        if (arc_heap_push(&heap, a, arc_low[a])) { result = CCH_NO_MEMORY; goto done; }
    }
    while (heap.size) {
        int64_t a = arc_heap_pop(&heap);
        queued[a] = 0;
        int32_t x = arc_low[a], y = up_head[a];
        double f = INFINITY, fm = 0.0, b = INFINITY, bm = 0.0;
        for (int64_t k = arc_edge_first[a]; k < arc_edge_first[a + 1]; k++) {
            int64_t e = arc_edges[k];
            if (tail[e] == x) better(&f, &fm, seconds[e], metres[e]);
            else better(&b, &bm, seconds[e], metres[e]);
        }
        int64_t i = down_first[x], j = down_first[y];  /* common lower neighbours w of x and y */
        while (i < down_first[x + 1] && j < down_first[y + 1]) {
            if (down_tail[i] < down_tail[j]) i++;
            else if (down_tail[i] > down_tail[j]) j++;
            else {
                int32_t wx = down_arc[i], wy = down_arc[j];
                better(&f, &fm, bwd[wx] + fwd[wy], bwd_m[wx] + fwd_m[wy]);  /* x -> w -> y */
                better(&b, &bm, bwd[wy] + fwd[wx], bwd_m[wy] + fwd_m[wx]);  /* y -> w -> x */
                i++;
                j++;
            }
        }
        if (f == fwd[a] && b == bwd[a] && fm == fwd_m[a] && bm == bwd_m[a]) continue;
        double f0 = fwd[a], b0 = bwd[a], fm0 = fwd_m[a], bm0 = bwd_m[a];
        fwd[a] = f;
        bwd[a] = b;
        fwd_m[a] = fm;
        bwd_m[a] = bm;
        moved[x] = 1;
        updated++;
        for (int64_t k = up_first[x]; k < up_first[x + 1]; k++) {  /* the triangles x, y, z this arc is under */
            int32_t z = up_head[k];
            if (z == y) continue;
            int64_t above = z > y ? find_arc(up_first, up_head, y, z) : find_arc(up_first, up_head, z, y);
            if (above < 0) { result = CCH_BAD_GRAPH; goto done; }
            if (queued[above]) continue;
            /* y -> x -> z and z -> x -> y, before and after; on `above` they are fwd and bwd when y < z */
            double yz_old = b0 + fwd[k], yz_old_m = bm0 + fwd_m[k], yz = b + fwd[k], yz_m = bm + fwd_m[k];
            double zy_old = bwd[k] + f0, zy_old_m = bwd_m[k] + fm0, zy = bwd[k] + f, zy_m = bwd_m[k] + fm;
            double *up_s = z > y ? &fwd[above] : &bwd[above], *up_m = z > y ? &fwd_m[above] : &bwd_m[above];
            double *down_s = z > y ? &bwd[above] : &fwd[above], *down_m = z > y ? &bwd_m[above] : &fwd_m[above];
            if (!touches(*up_s, *up_m, yz_old, yz_old_m, yz, yz_m) && !touches(*down_s, *down_m, zy_old, zy_old_m, zy, zy_m))
                continue;  /* that arc's best way is elsewhere, before and after */
            queued[above] = 1;
            if (arc_heap_push(&heap, above, arc_low[above])) { result = CCH_NO_MEMORY; goto done; }
        }
    }
    result = updated;
done:
    for (int64_t i = 0; i < heap.size; i++) queued[heap.arc[i]] = 0;
    free(heap.arc);
    free(heap.low);
    return result;
}

/* One way out of a unit's road position (routing/etree.py packs these, PositionExits): the kept walk of the node
 * it leads to (its nodes ascending, seconds and metres, length; nodes NULL for an unused slot) and the seconds and
 * metres from the unit's point to that node. */
typedef struct {
    const int32_t *nodes;
    const double *seconds;
    const double *metres;
    int64_t len;
    double offset_s, offset_m;
} CchExit;

#define CCH_EXITS_PER_POSITION 3

/* The size of one packed exit, for routing/etree.py to check its packing against. */
int64_t cch_exit_bytes(void) { return (int64_t)sizeof(CchExit); }

/* A whole ranking in one call: the goal's walk from the incident's entry points relaxing bwd, then for each
 * position its exits' kept walks joined with it (the nodes cch_join reads: from the walk's top down to the first
 * node the goal's walk lacks) and the best exit chosen as routing/eta.py's best_exit does (exits in order, a later one
 * only when strictly faster). `positions`: n_positions x CCH_EXITS_PER_POSITION packed CchExit. Writes each
 * position's seconds and metres (inf, inf when no exit reaches the goal) and the chosen exit's slot (-1 for none).
 *
 * The same seconds and metres as cch_walk + cch_join, with less memory read (both are bound by it: the top of the
 * hierarchy is hundreds of thousands of arcs): the walk relaxes seconds only and notes the arc that gave each
 * node its seconds (`pred`, and its lower end in `pred_tail`); a node's metres are worked out from that arc when
 * the node is reached in ascending order, its seconds being final then. A tie in seconds compares the metres of
 * the two ways, as better() does, so the way kept is the same. The join likewise reads a walk's metres only for
 * a way at least as fast as the best so far.
 *
 * Scratch, left as found: `goal_s` (n doubles, all inf), `goal_m` (n doubles, all 0), `seen` (n bytes, all 0:
 * marks the goal walk's nodes); `pred` (n int64) and `pred_tail` (n int32) need no clearing (set for each node
 * walked before use); `walk_nodes` (cap int32) is room for the goal's walk. Returns 0 or an error. */
int cch_rank(int32_t n, const int64_t *up_first, const int32_t *up_head, const int32_t *parent,
             const double *weight, const double *weight_m, int32_t n_entries, const int32_t *entries,
             const double *entry_s, const double *entry_m, double *goal_s, double *goal_m, uint8_t *seen,
             int64_t *pred, int32_t *pred_tail, int64_t cap, int32_t *walk_nodes, int32_t n_positions,
             const unsigned char *positions, double *out_s, double *out_m, int32_t *out_exit) {
    int64_t count = 0;
    int result = 0, sorted = 1;
    for (int32_t i = 0; i < n_entries; i++) {
        int32_t v = entries[i];
        if (v < 0 || v >= n) { result = CCH_BAD_GRAPH; goto reset; }
        better(&goal_s[v], &goal_m[v], entry_s[i], entry_m[i]);  /* an entry's own metres: pred -1 below */
        int64_t steps = 0;
        while (v >= 0 && !seen[v]) {
            if (count >= cap || ++steps > n) { result = count >= cap ? CCH_OUT_OF_ROOM : CCH_BAD_GRAPH; goto reset; }
            seen[v] = 1;
            pred[v] = -1;
            if (count && walk_nodes[count - 1] > v) sorted = 0;
            walk_nodes[count++] = v;
            int32_t p = parent[v];
            if (p != -1 && (p <= v || p >= n)) { result = CCH_BAD_GRAPH; goto reset; }
            v = p;
        }
    }
    if (!sorted) qsort(walk_nodes, (size_t)count, sizeof(int32_t), cmp_int32);
    for (int64_t i = 0; i < count; i++) {
        int32_t v = walk_nodes[i];
        double d = goal_s[v];
        if (d == INFINITY) continue;
        double m = pred[v] < 0 ? goal_m[v] : goal_m[pred_tail[v]] + weight_m[pred[v]];
        goal_m[v] = m;  /* final: every way into v comes from a lower node, all reached before v */
        for (int64_t a = up_first[v]; a < up_first[v + 1]; a++) {
            int32_t h = up_head[a];  /* an ancestor of v: in the walk (seen), so reset below */
            double s = d + weight[a];
            if (s < goal_s[h]) {
                goal_s[h] = s;
                pred[h] = a;
                pred_tail[h] = v;
            } else if (s == goal_s[h]) {  /* as fast: the shorter way, as better() keeps */
                double kept = pred[h] < 0 ? goal_m[h] : goal_m[pred_tail[h]] + weight_m[pred[h]];
                if (m + weight_m[a] < kept) {
                    pred[h] = a;
                    pred_tail[h] = v;
                }
            }
        }
    }
    for (int32_t k = 0; k < n_positions; k++) {
        CchExit exits[CCH_EXITS_PER_POSITION];
        double joined_s[CCH_EXITS_PER_POSITION], joined_m[CCH_EXITS_PER_POSITION];
        memcpy(exits, positions + (size_t)k * sizeof(exits), sizeof(exits));  /* the caller's bytes: any alignment */
        double best = INFINITY, best_m = INFINITY;
        int32_t chosen = -1;
        for (int j = 0; j < CCH_EXITS_PER_POSITION; j++) {
            const CchExit *e = &exits[j];
            if (!e->nodes) continue;
            int same = -1;  /* an earlier exit on the same walk (a unit parked on a node): joined once */
            for (int i = 0; i < j; i++)
                if (exits[i].nodes == e->nodes) same = i;
            double d = INFINITY, dm = INFINITY;
            if (same >= 0) {
                d = joined_s[same];
                dm = joined_m[same];
            } else {
                /* The walk is one node's chain of ancestors, ascending, and the goal's walk holds every ancestor
                 * of its nodes: the shared nodes are a top part of the chain, found by bisection. The best way is
                 * the least (seconds, metres), whatever order the nodes are read in. */
                int64_t lo = 0, hi = e->len;
                while (lo < hi) {
                    int64_t mid = lo + (hi - lo) / 2;
                    int32_t v = e->nodes[mid];
                    if (v < 0 || v >= n) { result = CCH_BAD_GRAPH; goto reset; }
                    if (seen[v]) hi = mid;
                    else lo = mid + 1;
                }
                for (int64_t i = lo; i < e->len; i++) {
                    int32_t v = e->nodes[i];
                    if (v < 0 || v >= n) { result = CCH_BAD_GRAPH; goto reset; }
                    double s = e->seconds[i] + goal_s[v];
                    if (!(s <= d)) continue;
                    double sm = e->metres[i] + goal_m[v];
                    if (s < d || sm < dm) {  /* better(), read in two steps */
                        d = s;
                        dm = sm;
                    }
                }
            }
            joined_s[j] = d;
            joined_m[j] = dm;
            if (d == INFINITY) continue;
            double s = e->offset_s + d;
            if (chosen < 0 || s < best) {
                best = s;
                best_m = e->offset_m + dm;
                chosen = j;
            }
        }
        out_s[k] = best;
        out_m[k] = best_m;
        out_exit[k] = chosen;
    }
reset:
    for (int64_t i = 0; i < count; i++) {
        int32_t v = walk_nodes[i];
        goal_s[v] = INFINITY;
        goal_m[v] = 0.0;
        seen[v] = 0;
    }
    for (int32_t i = 0; i < n_entries; i++)
        if (entries[i] >= 0 && entries[i] < n) {
            goal_s[entries[i]] = INFINITY;
            goal_m[entries[i]] = 0.0;
        }
    return result;
}

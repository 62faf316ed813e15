/* Bounded multi-source Dijkstra over a CSR graph, for routing/search.py (loaded with ctypes).
 *
 * This file keeps no state of its own: every array it reads or writes, the heap included, belongs to the
 * caller's SearchSpace, so searches on different SearchSpaces may run at the same time on different threads
 * (ctypes releases the GIL during the call). The caller's state arrays persist between calls; only the nodes a
 * search touched are reset (by the caller), so a query costs O(settled nodes), not O(graph). The search stops
 * when every goal node is settled or the next node is farther than `limit`.
 *
 * Bounds: a node is expanded at most once, so each edge pushes at most one heap item and the heap never holds
 * more than n_sources + (edges) items; the caller passes a heap of that capacity and a push beyond it is
 * reported (DIJKSTRA_HEAP_FULL), never grown. Node and edge ids read from the graph are checked against n and
 * n_edges, so a malformed graph is an error code, not a stray write.
 */
#include <math.h>
#include <stdint.h>

#define DIJKSTRA_HEAP_FULL -2
#define DIJKSTRA_BAD_GRAPH -3

#ifndef DIJKSTRA_SOURCE_SHA256
#define DIJKSTRA_SOURCE_SHA256 "unknown"
#endif

/* The SHA-256 of this file as setup.py saw it: search.py refuses a library built from another version. */
const char *dijkstra_source_sha256(void) { return DIJKSTRA_SOURCE_SHA256; }

typedef struct {
    double *key;
    int32_t *node;
    int64_t size;
    int64_t cap;
} Heap;

static int heap_push(Heap *h, double key, int32_t node) {
    if (h->size >= h->cap) return DIJKSTRA_HEAP_FULL;
    int64_t i = h->size++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (h->key[parent] <= key) break;
        h->key[i] = h->key[parent];
        h->node[i] = h->node[parent];
        i = parent;
    }
    h->key[i] = key;
    h->node[i] = node;
    return 0;
}

static void heap_pop(Heap *h, double *key, int32_t *node) {
    *key = h->key[0];
    *node = h->node[0];
    int64_t last_i = --h->size;
    double last_key = h->key[last_i];
    int32_t last_node = h->node[last_i];
    int64_t i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= h->size) break;
        if (child + 1 < h->size && h->key[child + 1] < h->key[child]) child++;
        if (h->key[child] >= last_key) break;
        h->key[i] = h->key[child];
        h->node[i] = h->node[child];
        i = child;
    }
    if (h->size > 0) {
        h->key[i] = last_key;
        h->node[i] = last_node;
    }
}

/* Returns 0, or DIJKSTRA_HEAP_FULL / DIJKSTRA_BAD_GRAPH. Whatever it returns, *n_touched says how many node ids
 * were written to `touched` (capacity n): the caller resets those nodes' dist, next_edge and settled.
 * offsets[n+1], targets[offsets[n]], edge_ids[offsets[n]]: CSR; weights and lengths[n_edges] by edge id
 * (weight inf = closed). aux[v] accumulates `lengths` along the chosen tree (metres), starting from source_aux.
 * dist[n] must be +inf, next_edge[n] -1, settled[n] and goal_flag[n] 0 for untouched nodes on entry; sources
 * and goals must be node ids below n (the caller checks). heap_key/heap_node: scratch of heap_cap items. */
int32_t dijkstra(int32_t n, int64_t n_edges, const int64_t *offsets, const int32_t *targets,
                 const int32_t *edge_ids, const double *weights, const double *lengths,
                 int32_t n_sources, const int32_t *sources, const double *source_costs, const double *source_aux,
                 int32_t n_goals, const int32_t *goals, double limit,
                 double *dist, double *aux, int32_t *next_edge, uint8_t *settled, uint8_t *goal_flag,
                 int32_t *touched, int64_t *n_touched, double *heap_key, int32_t *heap_node, int64_t heap_cap) {
    Heap heap = {heap_key, heap_node, 0, heap_cap};
    int64_t count = 0;
    int32_t goals_left = 0, status = 0;
    for (int32_t g = 0; g < n_goals; g++) {
        if (!goal_flag[goals[g]]) { goal_flag[goals[g]] = 1; goals_left++; }
    }
    for (int32_t s = 0; s < n_sources && status == 0; s++) {
        int32_t v = sources[s];
        if (source_costs[s] < dist[v]) {
            if (isinf(dist[v])) touched[count++] = v;
            dist[v] = source_costs[s];
            aux[v] = source_aux[s];
            next_edge[v] = -1;
            status = heap_push(&heap, dist[v], v);
        }
    }
    while (heap.size > 0 && status == 0) {
        double key;
        int32_t u;
        heap_pop(&heap, &key, &u);
        if (settled[u] || key > dist[u]) continue;
        if (key > limit) break;
        settled[u] = 1;
        if (goal_flag[u]) {
            goal_flag[u] = 0;
            if (--goals_left == 0 && n_goals > 0) break;
        }
        for (int64_t k = offsets[u]; k < offsets[u + 1]; k++) {
            int32_t e = edge_ids[k], v = targets[k];
            if (e < 0 || e >= n_edges || v < 0 || v >= n) { status = DIJKSTRA_BAD_GRAPH; break; }
            double w = weights[e];
            if (isinf(w)) continue;
            double candidate = key + w;
            if (candidate < dist[v]) {
                if (isinf(dist[v])) touched[count++] = v;
                dist[v] = candidate;
                aux[v] = aux[u] + lengths[e];
                next_edge[v] = e;
                if ((status = heap_push(&heap, candidate, v)) != 0) break;
            }
        }
    }
    for (int32_t g = 0; g < n_goals; g++) goal_flag[goals[g]] = 0;
    *n_touched = count;
    return status;
}

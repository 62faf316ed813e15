/* Bounded multi-source Dijkstra over a CSR graph, for routing/search.py (loaded with ctypes).
 *
 * State arrays (dist, next_edge, settled flags) persist between calls; only the nodes a search touched are
 * reset, so a query costs O(settled nodes), not O(graph). The search stops when every goal node is settled
 * or the next node is farther than `limit`.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct { double key; int32_t node; } Item;

static Item *heap = NULL;
static int64_t heap_cap = 0;

static int heap_push(int64_t *size, double key, int32_t node) {
    if (*size >= heap_cap) {
        int64_t cap = heap_cap ? heap_cap * 2 : 4096;
        Item *grown = realloc(heap, (size_t)cap * sizeof(Item));
        if (!grown) return -1;
        heap = grown;
        heap_cap = cap;
    }
    int64_t i = (*size)++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (heap[parent].key <= key) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i].key = key;
    heap[i].node = node;
    return 0;
}

static Item heap_pop(int64_t *size) {
    Item top = heap[0];
    Item last = heap[--(*size)];
    int64_t i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= *size) break;
        if (child + 1 < *size && heap[child + 1].key < heap[child].key) child++;
        if (heap[child].key >= last.key) break;
        heap[i] = heap[child];
        i = child;
    }
    if (*size > 0) heap[i] = last;
    return top;
}

/* Returns the number of touched nodes written to `touched` (caller resets them), or -1 on allocation failure.
 * offsets[n+1], targets[m], edge_ids[m]: CSR; weights and lengths indexed by edge id (weight inf = closed).
 * aux[v] accumulates `lengths` along the chosen tree (metres), starting from source_aux.
 * dist[n] must be +inf and next_edge[n] -1 and settled[n] 0 for untouched nodes on entry. */
int64_t dijkstra(int32_t n, const int64_t *offsets, const int32_t *targets, const int32_t *edge_ids,
                 const double *weights, const double *lengths,
                 int32_t n_sources, const int32_t *sources, const double *source_costs, const double *source_aux,
                 int32_t n_goals, const int32_t *goals, double limit,
                 double *dist, double *aux, int32_t *next_edge, uint8_t *settled, uint8_t *goal_flag,
                 int32_t *touched) {
    int64_t size = 0, n_touched = 0;
    int32_t goals_left = 0;
    for (int32_t g = 0; g < n_goals; g++) {
        if (!goal_flag[goals[g]]) { goal_flag[goals[g]] = 1; goals_left++; }
    }
    for (int32_t s = 0; s < n_sources; s++) {
        int32_t v = sources[s];
        if (source_costs[s] < dist[v]) {
            if (isinf(dist[v])) touched[n_touched++] = v;
            dist[v] = source_costs[s];
            aux[v] = source_aux[s];
            next_edge[v] = -1;
            if (heap_push(&size, dist[v], v) < 0) return -1;
        }
    }
    while (size > 0) {
        Item item = heap_pop(&size);
        int32_t u = item.node;
        if (settled[u] || item.key > dist[u]) continue;
        if (item.key > limit) break;
        settled[u] = 1;
        if (goal_flag[u]) {
            goal_flag[u] = 0;
            if (--goals_left == 0 && n_goals > 0) break;
        }
        for (int64_t k = offsets[u]; k < offsets[u + 1]; k++) {
            double w = weights[edge_ids[k]];
            if (isinf(w)) continue;
            int32_t v = targets[k];
            double candidate = item.key + w;
            if (candidate < dist[v]) {
                if (isinf(dist[v])) touched[n_touched++] = v;
                dist[v] = candidate;
                aux[v] = aux[u] + lengths[edge_ids[k]];
                next_edge[v] = edge_ids[k];
                if (heap_push(&size, candidate, v) < 0) return -1;
            }
        }
    }
    for (int32_t g = 0; g < n_goals; g++) goal_flag[goals[g]] = 0;
    return n_touched;
}

// Native hnswlib peer for the ANN benchmark: builds hnswlib's HierarchicalNSW over BASE, then for each ef times one
// query per call (after a warm-up) and reports recall@k against GT, QPS and latency percentiles as JSON.
//
// usage: hnswlib_native BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP --M 16 --efc 200 --ef 10,20,40,80,160
//                       --k 10 [--threads 1] [--warmup 1000] [--seed 100] [--json out.json] [--build-nice 10]
// .fvecs/.ivecs: per vector an int32 dimension, then that many float32/int32 values. The base file is mapped, not
// copied, so the process's own memory holds one copy of the vectors (hnswlib's; the file's pages stay the page
// cache's, reclaimable, and are unmapped after the build): 10M x 128-d needs about 6.5 GB, not 11.6.
// --build-nice N: the build threads run at nice N (the benchmark machine is shared; builds yield to measured runs),
// the searches on the main thread at the process's own priority (Linux nice is per thread).
#include <hnswlib/hnswlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <queue>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

template <typename T>
std::vector<T> read_vecs(const std::string& path, int& dim, size_t& count) {
    std::ifstream in(path, std::ios::binary);
    if (!in) { std::fprintf(stderr, "cannot open %s\n", path.c_str()); std::exit(2); }
    in.seekg(0, std::ios::end);
    size_t bytes = static_cast<size_t>(in.tellg());
    in.seekg(0);
    int32_t d = 0;
    in.read(reinterpret_cast<char*>(&d), 4);
    if (d <= 0) { std::fprintf(stderr, "%s: bad dimension %d\n", path.c_str(), d); std::exit(2); }
    dim = d;
    size_t row = 4 + static_cast<size_t>(d) * sizeof(T);
    count = bytes / row;
    std::vector<T> out(count * d);
    in.seekg(0);
    for (size_t i = 0; i < count; i++) {
        in.read(reinterpret_cast<char*>(&d), 4);
        in.read(reinterpret_cast<char*>(out.data() + i * dim), static_cast<std::streamsize>(dim * sizeof(T)));
    }
    return out;
}

// The base file mapped read-only: row i's values start at 4 + i * (4 + dim * 4) bytes.
struct MappedVecs {
    const char* bytes = nullptr;
    size_t row = 0;
    int dim = 0;
    size_t count = 0;
    const float* at(size_t i) const { return reinterpret_cast<const float*>(bytes + i * row + 4); }
};

MappedVecs map_fvecs(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) { std::fprintf(stderr, "cannot open %s\n", path.c_str()); std::exit(2); }
    struct stat st{};
    fstat(fd, &st);
    MappedVecs m;
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) { std::fprintf(stderr, "cannot map %s\n", path.c_str()); std::exit(2); }
    m.bytes = static_cast<const char*>(p);
    int32_t d = 0;
    std::memcpy(&d, m.bytes, 4);
    if (d <= 0) { std::fprintf(stderr, "%s: bad dimension %d\n", path.c_str(), d); std::exit(2); }
    m.dim = d;
    m.row = 4 + static_cast<size_t>(d) * sizeof(float);
    m.count = static_cast<size_t>(st.st_size) / m.row;
    madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
    return m;
}

long peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6) * 1024L;
    }
    return -1;
}

std::vector<int> parse_list(const std::string& s) {
    std::vector<int> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) v.push_back(std::atoi(item.c_str()));
    return v;
}

// CPU time of the process: on a shared machine wall time counts other processes' slices, CPU time does not.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

// The integer after `key:` in a flat JSON object, or `fallback` when the key is absent.
static int json_int(const std::string& text, const std::string& key, int fallback) {
    auto at = text.find(key);
    if (at == std::string::npos) return fallback;
    at = text.find(':', at + key.size());
    return at == std::string::npos ? fallback : std::atoi(text.c_str() + at + 1);
}

// Every integer that follows `key:` in a JSON list of objects, comma-separated ("10,20,40").
static std::string json_ints(const std::string& text, const std::string& key) {
    std::string out;
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + key.size())) {
        auto colon = text.find(':', at + key.size());
        if (colon == std::string::npos) break;
        if (!out.empty()) out += ",";
        out += std::to_string(std::atoi(text.c_str() + colon + 1));
    }
    return out;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP --M 16 --efc 200 --ef 10,20 --k 10 "
                             "[--threads 1] [--warmup 1000] [--seed 100] [--json out.json] [--build-nice 10]\n", argv[0]);
        return 2;
    }
    std::string metric = "L2", json, efs = "10,20,40,80,160";
    int m = 16, efc = 200, k = 10, threads = 1, warmup = 1000, seed = 100, build_nice = 0;
    for (int i = 4; i + 1 < argc; i += 2) {
        std::string name = argv[i], value = argv[i + 1];
        if (name == "--metric") metric = value;
        else if (name == "--M") m = std::atoi(value.c_str());
        else if (name == "--efc") efc = std::atoi(value.c_str());
        else if (name == "--ef") efs = value;
        else if (name == "--k") k = std::atoi(value.c_str());
        else if (name == "--threads") threads = std::max(1, std::atoi(value.c_str()));
        else if (name == "--warmup") warmup = std::atoi(value.c_str());
        else if (name == "--seed") seed = std::atoi(value.c_str());
        else if (name == "--json") json = value;
        else if (name == "--build-nice") build_nice = std::atoi(value.c_str());
        // The harness contract (bench/ann.sh): --index HNSW --build '{"M":16,"efConstruction":200}'
        // --search '[{"ef":10},...]' --build-threads N; --batch is accepted and ignored (one query per call).
        else if (name == "--index") { if (value != "HNSW") { std::fprintf(stderr, "only HNSW, got %s\n", value.c_str()); return 2; } }
        else if (name == "--build") { m = json_int(value, "\"M\"", m); efc = json_int(value, "\"efConstruction\"", efc); }
        else if (name == "--search") efs = json_ints(value, "\"ef\"");
        else if (name == "--build-threads") threads = std::max(1, std::atoi(value.c_str()));
        else if (name == "--batch") {}
        else { std::fprintf(stderr, "unknown option %s\n", name.c_str()); return 2; }
    }

    int dim = 0, qdim = 0, gdim = 0;
    size_t n = 0, nq = 0, ng = 0;
    auto base = map_fvecs(argv[1]);
    dim = base.dim;
    n = base.count;
    auto queries = read_vecs<float>(argv[2], qdim, nq);
    auto gt = read_vecs<int32_t>(argv[3], gdim, ng);
    if (qdim != dim || ng < nq || gdim < k) { std::fprintf(stderr, "shapes disagree\n"); return 2; }

    hnswlib::SpaceInterface<float>* space = metric == "IP"
        ? static_cast<hnswlib::SpaceInterface<float>*>(new hnswlib::InnerProductSpace(dim))
        : static_cast<hnswlib::SpaceInterface<float>*>(new hnswlib::L2Space(dim));
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    int own_nice = getpriority(PRIO_PROCESS, 0);
    auto* index = new hnswlib::HierarchicalNSW<float>(space, n, m, efc, seed);
    // hnswlib's own examples insert the first point alone, then the rest from every thread.
    index->addPoint(base.at(0), 0);
    std::atomic<size_t> next{1};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&] {
            if (build_nice > own_nice) setpriority(PRIO_PROCESS, 0, build_nice);  // this thread only
            for (size_t i; (i = next.fetch_add(1)) < n;) index->addPoint(base.at(i), i);
        });
    }
    for (auto& t : pool) t.join();
    munmap(const_cast<char*>(base.bytes), n * base.row);
    double build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double build_cpu_seconds = cpu_seconds() - c0;

    size_t index_bytes = index->max_elements_ * index->size_data_per_element_ + n * sizeof(void*);
    for (size_t i = 0; i < n; i++) {
        index_bytes += static_cast<size_t>(index->element_levels_[i]) * index->size_links_per_element_;
    }

    std::ostringstream runs;
    for (int ef : parse_list(efs)) {
        index->setEf(std::max(ef, k));
        for (int i = 0; i < warmup; i++) index->searchKnn(queries.data() + (i % nq) * dim, k);
        std::vector<double> lat(nq);
        // The answers are kept and scored after the timed loop, so the timings hold the searches alone.
        std::vector<std::priority_queue<std::pair<float, hnswlib::labeltype>>> answers(nq);
        auto start = std::chrono::steady_clock::now();
        double cpu0 = cpu_seconds();
        for (size_t i = 0; i < nq; i++) {
            auto a = std::chrono::steady_clock::now();
            answers[i] = index->searchKnn(queries.data() + i * dim, k);
            auto b = std::chrono::steady_clock::now();
            lat[i] = std::chrono::duration<double, std::micro>(b - a).count();
        }
        double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        double cpu_qps = nq / (cpu_seconds() - cpu0);
        double hits = 0;
        for (size_t i = 0; i < nq; i++) {
            std::unordered_set<int> truth(gt.begin() + i * gdim, gt.begin() + i * gdim + k);
            for (auto& result = answers[i]; !result.empty(); result.pop()) {
                hits += truth.count(static_cast<int>(result.top().second));
            }
        }
        double recall = hits / (static_cast<double>(nq) * k);
        double qps = nq / total;
        std::fprintf(stderr, "ef %4d  recall %.4f  qps %9.1f  cpu_qps %9.1f  p50 %7.1f us  p99 %7.1f us\n", ef, recall, qps,
                     cpu_qps, percentile(lat, 50), percentile(lat, 99));
        if (runs.tellp() > 0) runs << ", ";
        runs << "{\"params\": {\"ef\": " << ef << "}, \"recall\": " << recall << ", \"qps\": " << qps << ", \"cpu_qps\": " << cpu_qps
             << ", \"p50_us\": " << percentile(lat, 50) << ", \"p99_us\": " << percentile(lat, 99) << "}";
    }

    std::ostringstream out;
    out << "{\"name\": \"hnswlib-native\", \"index\": \"HNSW\", \"metric\": \"" << metric << "\", \"M\": " << m
        << ", \"efc\": " << efc << ", \"rows\": " << n << ", \"queries\": " << nq << ", \"build_nice\": " << build_nice << ", \"build\": {\"M\": " << m << ", \"efConstruction\": " << efc << "}, \"k\": " << k << ", \"threads\": " << threads << ", \"build_seconds\": "
        << build_seconds << ", \"build_cpu_seconds\": " << build_cpu_seconds << ", \"index_bytes\": " << index_bytes << ", \"peak_rss_bytes\": " << peak_rss_bytes()
        << ", \"runs\": [" << runs.str() << "]}\n";
    std::fprintf(stderr, "build %.2f s (cpu %.2f s), index %zu bytes, peak RSS %ld bytes\n", build_seconds, build_cpu_seconds, index_bytes, peak_rss_bytes());
    if (json.empty()) {
        std::fputs(out.str().c_str(), stdout);
    } else {
        std::ofstream(json) << out.str();
    }
    delete index;
    delete space;
    return 0;
}

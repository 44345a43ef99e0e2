// Verilator harness of the SoC (accel/soc/sim.py builds it): no Python in the clock loop.
//
//   soc_sim [--ungated] MAX_CYCLES IN1.bin OUT1 [IN2.bin OUT2 ...]
//
// For every job: hold reset for 8 cycles, load IN.bin (a raw RAM image from address 0; the
// rest of the RAM is zeroed) into the RAM array, release reset, run until the firmware writes
// the MMIO exit register, the CPU touches an unmapped address or MAX_CYCLES pass, then dump
// the whole RAM to OUT.ram and the console to OUT.console, and print one line:
//   job K exit=E cycles=C instret=I trap=T cause=X pc=P val=V bus_error=B addr=A timeout=0|1
//   accel_clocks=K cpu_clocks=L seconds=S cpu_seconds=U
// (K, L: rising edges of the accelerator's and the core's clocks, S: wall time of the clock
// loop, U: the process's CPU time in it).
//
// The accelerator and the core have their own clock inputs (accel_clk, cpu_clk). They follow
// clk, except that the harness holds one low while it has nothing to do, and Verilator then
// does not evaluate its clocked logic (the accelerator idles while the CPU runs firmware, the
// CPU stalls while a layer runs):
// - the accelerator's clock stops once it has been inactive (accel_active: no layer running,
//   no CFU command or response pending) for SETTLE_CYCLES cycles, and runs again in the cycle a
//   command arrives. Its free-running pipelines have settled by then; to the accelerator the
//   skipped cycles are not there, as if the CPU had issued its next command sooner.
// - the core's clock stops once it has waited SETTLE_CYCLES cycles for a CFU response with
//   both buses idle (cpu_waiting), and runs again in the cycle the response is valid: its
//   pipeline is stalled on that response and frozen until then.
// clk, the RAM, the interconnect, the MMIO block and its cycle counter never stop: the
// results and the cycle counts are those of the ungated SoC (tests/soc compare the two).
// --ungated: never hold a clock.
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "Vaccel_soc.h"
#include "Vaccel_soc___024root.h"
#include "Vaccel_soc_accel_soc.h"
#include "verilated.h"

#ifndef RAM_WORDS
#error "RAM_WORDS must be defined"
#endif
#ifndef WORD_BYTES
#error "WORD_BYTES must be defined"
#endif
#ifndef SETTLE_CYCLES
#error "SETTLE_CYCLES must be defined"
#endif

static Vaccel_soc *top;
static bool gated = true;
static uint64_t accel_inactive = 0, cpu_waiting = 0;
static uint64_t accel_clocks = 0, cpu_clocks = 0;

static void tick() {
    top->clk = 0;
    top->accel_clk = 0;
    top->cpu_clk = 0;
    top->eval();
    // accel_active and cpu_waiting depend on registers only: settled after the falling edge.
    accel_inactive = top->accel_active || top->reset ? 0 : accel_inactive + 1;
    cpu_waiting = top->cpu_waiting && !top->reset ? cpu_waiting + 1 : 0;
    bool accel_edge = !gated || accel_inactive <= SETTLE_CYCLES;
    bool cpu_edge = !gated || cpu_waiting <= SETTLE_CYCLES;
    accel_clocks += accel_edge;
    cpu_clocks += cpu_edge;
    top->clk = 1;
    top->accel_clk = accel_edge;
    top->cpu_clk = cpu_edge;
    top->eval();
}

// The RAM is the public array accel_soc.ram (public.vlt), RAM_WORDS words of WORD_BYTES
// bytes: 4 or 8 bytes fit a C integer, 16 bytes are a VlWide of four 32-bit words.
#define RAM (top->rootp->accel_soc->ram)

static void set_word(uint32_t index, const uint8_t *bytes) {
#if WORD_BYTES <= 8
    uint64_t value = 0;
    for (int i = WORD_BYTES - 1; i >= 0; i--) value = (value << 8) | bytes[i];
    RAM[index] = value;
#else
    for (int w = 0; w < WORD_BYTES / 4; w++) {
        uint32_t value = 0;
        for (int i = 3; i >= 0; i--) value = (value << 8) | bytes[4 * w + i];
        RAM[index][w] = value;
    }
#endif
}

static void get_word(uint32_t index, uint8_t *bytes) {
#if WORD_BYTES <= 8
    uint64_t value = RAM[index];
    for (int i = 0; i < WORD_BYTES; i++, value >>= 8) bytes[i] = value & 0xff;
#else
    for (int w = 0; w < WORD_BYTES / 4; w++) {
        uint32_t value = RAM[index][w];
        for (int i = 0; i < 4; i++, value >>= 8) bytes[4 * w + i] = value & 0xff;
    }
#endif
}

static bool load(const char *path, std::vector<uint8_t> &ram) {
    FILE *f = std::fopen(path, "rb");
    if (!f) return false;
    ram.assign((size_t)RAM_WORDS * WORD_BYTES, 0);
    size_t n = std::fread(ram.data(), 1, ram.size(), f);
    int extra = std::fgetc(f);
    std::fclose(f);
    if (extra != EOF) {
        std::fprintf(stderr, "soc_sim: %s is larger than the RAM (%zu bytes)\n", path, n);
        return false;
    }
    return true;
}

static bool save(const std::string &path, const void *data, size_t n) {
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    bool ok = std::fwrite(data, 1, n, f) == n;
    return std::fclose(f) == 0 && ok;
}

int main(int argc, char **argv) {
    Verilated::commandArgs(argc, argv);
    const char *program = argv[0];
    if (argc > 1 && std::string(argv[1]) == "--ungated") {
        gated = false;
        argc--;
        argv++;
    }
    if (argc < 4 || (argc - 2) % 2) {
        std::fprintf(stderr, "usage: %s [--ungated] MAX_CYCLES IN.bin OUT [IN.bin OUT ...]\n",
                     program);
        return 2;
    }
    uint64_t max_cycles = std::strtoull(argv[1], nullptr, 0);
    top = new Vaccel_soc;
    std::vector<uint8_t> ram;
    for (int job = 0; 2 + 2 * job < argc; job++) {
        const char *in = argv[2 + 2 * job];
        std::string out = argv[3 + 2 * job];
        if (!load(in, ram)) {
            std::fprintf(stderr, "soc_sim: cannot read %s\n", in);
            return 2;
        }
        top->reset = 1;
        for (int i = 0; i < 8; i++) tick();
        for (uint32_t a = 0; a < RAM_WORDS; a++) set_word(a, &ram[(size_t)a * WORD_BYTES]);
        top->reset = 0;
        auto started = std::chrono::steady_clock::now();
        std::clock_t cpu_started = std::clock();
        std::string console;
        uint64_t cycles = 0;
        accel_clocks = cpu_clocks = 0;
        while (!top->exit_valid && !top->bus_error && cycles < max_cycles) {
            tick();
            cycles++;
            if (top->char_valid) console.push_back((char)top->char_data);
        }
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        double cpu_seconds = (double)(std::clock() - cpu_started) / CLOCKS_PER_SEC;
        bool timeout = !top->exit_valid && !top->bus_error;
        uint64_t instret = ((uint64_t)top->instret_hi << 32) | top->instret_lo;
        std::printf("job %d exit=%d cycles=%llu instret=%llu trap=%d cause=0x%x pc=0x%x "
                    "val=0x%x bus_error=%d addr=0x%x timeout=%d accel_clocks=%llu cpu_clocks=%llu "
                    "seconds=%.6f "
                    "cpu_seconds=%.6f\n",
                    job, (int)top->exit_code, (unsigned long long)cycles,
                    (unsigned long long)instret, (int)top->trap_valid, top->trap_cause,
                    top->trap_pc, top->trap_val, (int)top->bus_error, top->bus_error_addr, (int)timeout,
                    (unsigned long long)accel_clocks, (unsigned long long)cpu_clocks, seconds, cpu_seconds);
        std::fflush(stdout);
        for (uint32_t a = 0; a < RAM_WORDS; a++) get_word(a, &ram[(size_t)a * WORD_BYTES]);
        if (!save(out + ".ram", ram.data(), ram.size()) ||
            !save(out + ".console", console.data(), console.size())) {
            std::fprintf(stderr, "soc_sim: cannot write %s.*\n", out.c_str());
            return 2;
        }
    }
    top->final();
    delete top;
    return 0;
}

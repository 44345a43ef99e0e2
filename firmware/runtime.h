/*
 * Minimal C runtime for the bare-metal firmware: the memory functions the compiler may
 * call, the simulator's environment calls, and a small printf.
 *
 * Environment calls (handled by accel.riscv.ISS): write(fd, buf, len) is a7 = 64,
 * exit(code) is a7 = 93.
 */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* write(fd, buf, len): fd 1 (stdout) or 2 (stderr); returns len. */
long sys_write(int fd, const void *buf, size_t len);
/* exit(code): stops the simulator with exit code `code`. */
void sys_exit(int code) __attribute__((noreturn));

/* printf subset: %d %i %u %x %X %c %s %p %%, flags '-' and '0', a field width, and the
 * length modifier 'l' (ignored: long is 32 bits). Returns the number of characters. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int puts(const char *s); /* s and a newline */
int putchar(int c);

#endif /* RUNTIME_H */

/* Minimal C runtime: see runtime.h. */
#include "runtime.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
        uint32_t *dw = (uint32_t *)d;
        const uint32_t *sw = (const uint32_t *)s;
        for (; n >= 16; n -= 16) {
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
            dw += 4;
            sw += 4;
        }
        for (; n >= 4; n -= 4)
            *dw++ = *sw++;
        d = (uint8_t *)dw;
        s = (const uint8_t *)sw;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int value, size_t n)
{
    uint8_t *d = dst;
    uint8_t b = (uint8_t)value;
    while (n && ((uintptr_t)d & 3)) {
        *d++ = b;
        n--;
    }
    uint32_t w = b * 0x01010101u;
    for (; n >= 4; n -= 4, d += 4)
        *(uint32_t *)d = w;
    while (n--)
        *d++ = b;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

long sys_write(int fd, const void *buf, size_t len)
{
    register long a0 __asm__("a0") = fd;
    register const void *a1 __asm__("a1") = buf;
    register size_t a2 __asm__("a2") = len;
    register long a7 __asm__("a7") = 64;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

void sys_exit(int code)
{
    register long a0 __asm__("a0") = code;
    register long a7 __asm__("a7") = 93;
    __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
    for (;;)
        __asm__ volatile("ebreak");
}

/* printf: characters collect in a buffer flushed by one write call per printf. */
struct out {
    char buf[128];
    unsigned len;
    int total;
};

static void out_char(struct out *o, char c)
{
    if (o->len == sizeof o->buf) {
        sys_write(1, o->buf, o->len);
        o->len = 0;
    }
    o->buf[o->len++] = c;
    o->total++;
}

static void out_field(struct out *o, const char *s, unsigned n, unsigned width, int left,
                      char pad)
{
    if (!left)
        for (; width > n; width--)
            out_char(o, pad);
    for (unsigned i = 0; i < n; i++)
        out_char(o, s[i]);
    if (left)
        for (; width > n; width--)
            out_char(o, ' ');
}

int vprintf(const char *fmt, va_list ap)
{
    struct out o = {.len = 0, .total = 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(&o, *fmt);
            continue;
        }
        fmt++;
        int left = 0;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        unsigned width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (unsigned)(*fmt++ - '0');
        while (*fmt == 'l')
            fmt++;
        char tmp[12];
        unsigned n = 0;
        switch (*fmt) {
        case 'd':
        case 'i':
        case 'u': {
            uint32_t v;
            int neg = 0;
            if (*fmt == 'u') {
                v = va_arg(ap, uint32_t);
            } else {
                int32_t s = va_arg(ap, int32_t);
                neg = s < 0;
                v = neg ? 0u - (uint32_t)s : (uint32_t)s;
            }
            do {
                tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            if (neg) {
                if (pad == '0' && !left) {
                    out_char(&o, '-');
                    if (width)
                        width--;
                } else {
                    tmp[sizeof tmp - 1 - n++] = '-';
                }
            }
            out_field(&o, tmp + sizeof tmp - n, n, width, left, left ? ' ' : pad);
            break;
        }
        case 'x':
        case 'X':
        case 'p': {
            const char *digits = *fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
            uint32_t v = *fmt == 'p' ? (uint32_t)(uintptr_t)va_arg(ap, void *)
                                     : va_arg(ap, uint32_t);
            do {
                tmp[sizeof tmp - 1 - n++] = digits[v & 15];
                v >>= 4;
            } while (v);
            if (*fmt == 'p') {
                tmp[sizeof tmp - 1 - n++] = 'x';
                tmp[sizeof tmp - 1 - n++] = '0';
            }
            out_field(&o, tmp + sizeof tmp - n, n, width, left, left ? ' ' : pad);
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            out_field(&o, tmp, 1, width, left, ' ');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            out_field(&o, s, (unsigned)strlen(s), width, left, ' ');
            break;
        }
        case '%':
            out_char(&o, '%');
            break;
        case '\0':
            fmt--;
            break;
        default: /* unknown conversion: print it literally */
            out_char(&o, '%');
            out_char(&o, *fmt);
            break;
        }
    }
    if (o.len)
        sys_write(1, o.buf, o.len);
    return o.total;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    size_t n = strlen(s);
    sys_write(1, s, n);
    sys_write(1, "\n", 1);
    return (int)n + 1;
}

int putchar(int c)
{
    char ch = (char)c;
    sys_write(1, &ch, 1);
    return (unsigned char)c;
}

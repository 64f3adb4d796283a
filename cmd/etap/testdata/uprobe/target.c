/*
 * target is the user-space program of etap's uprobe tests: C functions
 * with arguments and return values (long, int, void), and two SDT probes
 * (USDT), one behind a semaphore. It is committed built, so that the tests need no C
 * compiler; rebuild it with
 *
 *	gcc -O1 -g -fno-omit-frame-pointer -o target target.c
 *
 * Its arguments are how many times to call add (3) and how many
 * milliseconds to live on after (0): the names of user-space addresses
 * are read from /proc/PID/maps when etap prints them. *
 * The SDT notes are written here by hand, in the format of systemtap's
 * sys/sdt.h (which Debian ships in systemtap-sdt-dev): a .note.stapsdt
 * note per probe with its address, the .stapsdt.base address, its
 * semaphore's address, provider, name and argument operands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ETAP_NOTE(provider, name, semaphore, args)                         \
	"990: nop\n"                                                       \
	".pushsection .note.stapsdt,\"\",\"note\"\n"                       \
	".balign 4\n"                                                      \
	".4byte 992f-991f, 994f-993f, 3\n"                                 \
	"991: .asciz \"stapsdt\"\n"                                        \
	"992: .balign 4\n"                                                 \
	"993: .8byte 990b\n"                                               \
	".8byte _.stapsdt.base\n"                                          \
	".8byte " semaphore "\n"                                           \
	".asciz \"" provider "\"\n"                                        \
	".asciz \"" name "\"\n"                                            \
	".asciz \"" args "\"\n"                                            \
	"994: .balign 4\n"                                                 \
	".popsection\n"                                                    \
	".ifndef _.stapsdt.base\n"                                         \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
	".weak _.stapsdt.base\n"                                           \
	".hidden _.stapsdt.base\n"                                         \
	"_.stapsdt.base: .space 1\n"                                       \
	".popsection\n"                                                    \
	".endif\n"

/* The kernel increments the semaphore while a probe is attached to tick. */
unsigned short etap_tick_semaphore __attribute__((section(".probes"), used));

__attribute__((noinline)) long add(long a, long b)
{
	__asm__ volatile("");
	return a + b;
}

/* neg returns an int: the upper half of RAX is not part of its result. */
__attribute__((noinline)) int neg(int x)
{
	__asm__ volatile("");
	return -x;
}

/* idle returns nothing. */
__attribute__((noinline)) void idle(void)
{
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	long sum = 0;
	int fired = 0;
	for (int i = 1; i <= n; i++) {
		sum = add(sum, i * 10);
		if (etap_tick_semaphore) {
			volatile long total = sum;
			fired++;
			/* i in a register, total on the stack */
			__asm__ volatile(ETAP_NOTE("etap", "tick", "etap_tick_semaphore", "-4@%[i] -8@%[total]")
					 :: [i] "r"(i), [total] "m"(total));
		}
		__asm__ volatile(ETAP_NOTE("etap", "plain", "0", "-4@%[k]") :: [k] "n"(7));
	}
	idle();
	printf("sum %ld fired %d neg %d\n", sum, fired, neg(n));
	fflush(stdout);
	if (argc > 2) {
		long ms = atol(argv[2]);
		struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

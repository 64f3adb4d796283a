/*
 * target is the user-space program of etap's uprobe tests: a C function
 * with arguments and a return value, and two SDT probes (USDT), one behind
 * a semaphore. It is committed built, so that the tests need no C
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
	printf("sum %ld fired %d\n", sum, fired);
	fflush(stdout);
	if (argc > 2) {
		long ms = atol(argv[2]);
		struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

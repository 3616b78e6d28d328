/*
 * A library that, loaded into any process (LD_PRELOAD, ~/.ssh/rc's programs),
 * creates the file WITNESS (a string given at compile time: -DWITNESS='"path"'),
 * so the test sees that code it planted ran.
 */
#include <stdio.h>

__attribute__((constructor)) static void witness(void)
{
	FILE *f = fopen(WITNESS, "w");
	if (f) fclose(f);
}

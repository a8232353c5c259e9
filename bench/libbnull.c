/* libbnull.c: the functions the sync-overhead benchmark calls.
 *
 * bn_add is as cheap as a call can be, so that what the benchmark
 * measures is the cost of reaching it (PLT, or PLT + dtask's stub), not
 * the work it does.  bn_mix takes doubles and integers, to include
 * libffi's argument classification in the figure. */
int bn_add(int a, int b);
double bn_mix(double x, int k, double y);

int bn_add(int a, int b) { return a + b; }

double bn_mix(double x, int k, double y) { return x * k + y; }

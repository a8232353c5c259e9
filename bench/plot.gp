# bench/plot.gp: the PNG plots of a bench run, drawn by bench/run.sh.
#
# gnuplot -e "dir='DIR'; term='pngcairo'; machine='...'; limit=F;
#             limitname='one CPU'; pipe=P; p50=A; p99=B; p999=C" bench/plot.gp
# reads, in DIR, the data files run.sh wrote for this run:
#   latency_hist.dat   LO HI FRACTION: dtask null-call round trips
#                      (1 caller, 1 worker), in log-spaced bins, in us
#   throughput.dat     WORKERS, then calls/s for 1, 2, 4 and 8 callers
#   argsize.dat        BYTES DTASK_MBPS MEMCPY_MBPS XCOPY_MBPS (the same
#                      copies between two processes, bench/xcopy.c)
# and writes latency.png, throughput.png and argsize.png beside them.
# limit is the physical limit of the same run, the p50 of the fastest
# futex handoff variant (limitname says which: "one CPU", "two CPUs",
# "unpinned"), and pipe the p50 of the fastest pipe pair (us); p50, p99
# and p999 are dtask's percentiles.  They are drawn as reference lines.

if (term eq 'pngcairo') {
  set terminal pngcairo size 900,560 font 'sans,10' noenhanced
} else {
  set terminal png size 900,560 noenhanced
}
set grid
set key top right

# ------------------------------------------------------------ latency
set output dir.'/latency.png'
set title sprintf("dtask null call round trip, 1 caller x 1 worker (%s)", machine)
# The x range takes in the anchors, which may lie left of every call.
stats dir.'/latency_hist.dat' using 1:2 nooutput
lo = (limit < pipe ? limit : pipe)
xlo = (lo < STATS_min_x ? lo : STATS_min_x) * 0.8
xhi = (p999 > STATS_max_y ? p999 : STATS_max_y) * 1.25
set xrange [xlo:xhi]
set logscale x
set xtics (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
set xlabel 'round trip (us, log scale)'
set ylabel 'fraction of calls'
set style fill solid 0.5 border -1
# The reference lines are arrows; their keys are empty (NaN) plots.
set arrow 1 from limit, graph 0 to limit, graph 1 nohead dt 2 lw 2 lc rgb '#1b9e77'
set arrow 2 from pipe, graph 0 to pipe, graph 1 nohead dt 3 lw 2 lc rgb '#7570b3'
set arrow 3 from p99, graph 0 to p99, graph 1 nohead dt 4 lc rgb '#d95f02'
set arrow 4 from p999, graph 0 to p999, graph 1 nohead dt 5 lc rgb '#d95f02'
plot dir.'/latency_hist.dat' using (($1+$2)/2):3:($2-$1) with boxes \
       lc rgb '#d95f02' title sprintf('dtask, p50 %.1f us', p50), \
     NaN with lines dt 4 lc rgb '#d95f02' title sprintf('dtask p99 %.1f us', p99), \
     NaN with lines dt 5 lc rgb '#d95f02' title sprintf('dtask p99.9 %.1f us', p999), \
     NaN with lines dt 2 lw 2 lc rgb '#1b9e77' \
       title sprintf('physical limit: futex handoff (%s) p50 %.1f us', limitname, limit), \
     NaN with lines dt 3 lw 2 lc rgb '#7570b3' title sprintf('fastest pipe pair p50 %.1f us', pipe)
unset arrow
unset label
unset logscale
set xrange [*:*]
set xtics autofreq

# --------------------------------------------------------- throughput
set output dir.'/throughput.png'
set title sprintf("dtask null calls per second, C callers x W workers (%s)", machine)
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.8:10]
set yrange [0:*]
# Room above the highest line, so that the limit's line is not the border.
set offsets 0, 0, graph 0.08, 0
set xlabel 'workers (W)'
set ylabel 'calls per second'
set key bottom right
callers = '1 2 4 8'
plot for [c=2:5] dir.'/throughput.dat' using 1:c with linespoints lw 2 pt 7 \
       title word(callers, c-1).(c == 2 ? ' caller' : ' callers'), \
     1e6/limit with lines dt 2 lw 2 lc rgb '#1b9e77' \
       title '1 / physical limit (one futex pair, serial)'
unset logscale
set xtics autofreq
set xrange [*:*]
set yrange [*:*]
set offsets 0, 0, 0, 0

# ----------------------------------------------------------- arg size
set output dir.'/argsize.png'
set title sprintf("bn_copy(in src[n], n, out dst[n]): MB/s against n (%s)", machine)
set logscale xy
set xtics ('64 B' 64, '1 KiB' 1024, '16 KiB' 16384, '256 KiB' 262144, \
           '4 MiB' 4194304, '16 MiB' 16777216)
set xrange [40:30000000]
set xlabel 'n, bytes in and bytes out (log scale)'
set ylabel 'MB/s of n (1 MB = 1,000,000 bytes, log scale)'
set key bottom right
plot dir.'/argsize.dat' using 1:2 with linespoints lw 2 pt 7 title 'dtask, offloaded call', \
     dir.'/argsize.dat' using 1:3 with linespoints lw 2 pt 5 title 'memcpy of n bytes, same process', \
     dir.'/argsize.dat' using 1:4 with linespoints lw 2 pt 9 title 'the copies alone, between two processes'

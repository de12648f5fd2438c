# chart.gp — the figure of bench/run.sh: transfer MB/s and small-object op/s
# side by side. run.sh passes: transfer, small (data files), out, title.
set terminal pngcairo size 1100,440 font "sans,10" noenhanced
set output out
set multiplot layout 1,2 title title
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set xtics rotate by -25
set key top right
set title "1-2. large file (MB/s, higher is better)"
plot transfer using 2:xtic(1) title "upload", '' using 3 title "download"
set title "3. 4 KiB objects, 16 in flight (op/s)"
plot small using 2:xtic(1) title "PUT", '' using 3 title "GET"
unset multiplot

# kjv_labels.awk — labelled verses for sequence classification, from the
# output of `bible -f gen1:1-rev22:21` (one verse a line behind a reference
# such as "1Cor13:4 ").  Writes `label<TAB>verse` lines: with -v by=testament
# the label is old or new; with -v by=section it is the verse's section of
# the canon: law, history, wisdom, prophets, gospels-acts, letters,
# apocalypse.  The book abbreviations are bible-kjv's.
BEGIN {
    split("Ge Exo Lev Num Deu", law, " ")
    split("Josh Jdgs Ruth 1Sm 2Sm 1Ki 2Ki 1Chr 2Chr Ezra Neh Est", history, " ")
    split("Job Psa Prv Eccl SSol", wisdom, " ")
    split("Isa Jer Lam Eze Dan Hos Joel Amos Obad Jonah Mic Nahum Hab Zep Hag Zec Mal", prophets, " ")
    split("Mat Mark Luke John Acts", gospels, " ")
    split("Rom 1Cor 2Cor Gal Eph Phi Col 1Th 2Th 1Tim 2Tim Titus Phmn Heb Jas 1Pet 2Pet 1Jn 2Jn 3Jn Jude", letters, " ")
    for (i in law) section[law[i]] = "law"
    for (i in history) section[history[i]] = "history"
    for (i in wisdom) section[wisdom[i]] = "wisdom"
    for (i in prophets) section[prophets[i]] = "prophets"
    for (i in gospels) section[gospels[i]] = "gospels-acts"
    for (i in letters) section[letters[i]] = "letters"
    section["Rev"] = "apocalypse"
    if (by != "testament" && by != "section") { print "kjv_labels.awk: -v by=testament or by=section" > "/dev/stderr"; exit 1 }
}
/^$/ { next }
{
    if (!match($0, /^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ /)) { print "kjv_labels.awk: line " NR ": no verse reference" > "/dev/stderr"; exit 1 }
    ref = substr($0, 1, RLENGTH - 1)
    text = substr($0, RLENGTH + 1)
    book = ref
    sub(/[0-9]+:[0-9]+$/, "", book)
    if (!(book in section)) { print "kjv_labels.awk: line " NR ": unknown book '" book "'" > "/dev/stderr"; exit 1 }
    if (text == "") next
    s = section[book]
    label = by == "section" ? s : (s == "gospels-acts" || s == "letters" || s == "apocalypse") ? "new" : "old"
    print label "\t" text
}

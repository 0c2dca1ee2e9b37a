#include <array>

#include <catch2/catch.hpp>

#include <thread>

#include "core/text/text.hpp"

using namespace switchboard::core;
using strings = std::vector<std::string>;

TEST_CASE("fold_text lower-cases and folds Latin accents", "[text]") {
  CHECK(fold_text("HELLO World") == "hello world");
  CHECK(fold_text("Réservation") == "reservation");
  CHECK(fold_text("ÉCOLE Ça Über") == "ecole ca uber");
  CHECK(fold_text("Straße") == "strasse");
  CHECK(fold_text("Œuvre Æsir Øre Þorn") == "oeuvre aesir ore thorn");
  CHECK(fold_text("Łódź Žluťoučký kůň") == "lodz zlutoucky kun");
  CHECK(fold_text("İstanbul ığdır Ĳssel") == "istanbul igdir ijssel");
  // Decomposed accents (e + U+0301) fold like precomposed ones.
  CHECK(fold_text("re\xCC\x81servation") == "reservation");
  // Multiplication and division signs are symbols, kept as they are.
  CHECK(fold_text("2×3÷1") == "2×3÷1");
}

TEST_CASE("fold_text lower-cases basic Greek and Cyrillic, keeps other scripts", "[text]") {
  CHECK(fold_text("ΑΘΗΝΑ") == "αθηνα");
  CHECK(fold_text("ПРИВЕТ Ёж") == "привет ёж");
  CHECK(fold_text("東京 😂") == "東京 😂");
}

TEST_CASE("fold_text turns each invalid UTF-8 byte into a space", "[text]") {
  CHECK(fold_text("ab\xFF"
                  "cd")
        == "ab cd");
  CHECK(fold_text("\xC3") == " ");                // truncated sequence
  CHECK(fold_text("\xC0\xAF") == "  ");           // overlong "/"
  CHECK(fold_text("\xED\xA0\x80") == "   ");      // UTF-16 surrogate
  CHECK(fold_text("\xF4\x90\x80\x80") == "    "); // past U+10FFFF
}

TEST_CASE("is_well_formed_utf8 and utf8_length", "[text]") {
  CHECK(is_well_formed_utf8(""));
  CHECK(is_well_formed_utf8("Лол кек 😂"));
  CHECK_FALSE(is_well_formed_utf8("\xC3\x28"));
  CHECK_FALSE(is_well_formed_utf8("\xE0\x80\x80"));
  CHECK_FALSE(is_well_formed_utf8("abc\xF0\x9F\x98"));
  CHECK(utf8_length("héllo") == 5);
  CHECK(utf8_length("😂") == 1);
  CHECK(utf8_length("a\xFF"
                    "b")
        == 3);
}

TEST_CASE("tokenize_text splits on punctuation, symbols and emoji", "[text]") {
  CHECK(tokenize_text("Hello, world! How's it going?")
        == strings{"hello", "world", "hows", "it", "going"});
  CHECK(tokenize_text("don’t stop") == strings{"dont", "stop"});
  CHECK(tokenize_text("order #A-17/2024") == strings{"order", "a", "17", "2024"});
  CHECK(tokenize_text("e-mail: x@y.com") == strings{"e", "mail", "x", "y", "com"});
  CHECK(tokenize_text("Лол кек 😂") == strings{"лол", "кек"});
  CHECK(tokenize_text("thumbs👍up") == strings{"thumbs", "up"});
  CHECK(tokenize_text("“quoted” — text…") == strings{"quoted", "text"});
  CHECK(tokenize_text("'leading' apostrophes'") == strings{"leading", "apostrophes"});
  CHECK(tokenize_text("").empty());
  CHECK(tokenize_text(" \t\n!?").empty());
}

TEST_CASE("is_stopword knows common English function words only", "[text]") {
  for (auto w : {"the", "a", "how", "to", "i", "please", "dont", "yourselves", "youre", "get"})
    CHECK(is_stopword(w));
  for (auto w : {"refund", "human", "agent", "password", "ship", "zzz", ""})
    CHECK_FALSE(is_stopword(w));
}

TEST_CASE("stem_word is Snowball's English stemmer by default", "[text]") {
  struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"refunds", "refund"},
      {"refunded", "refund"},
      {"refunding", "refund"},
      {"caresses", "caress"},
      {"ponies", "poni"},
      {"pony", "poni"},
      {"policies", "polici"},
      {"policy", "polici"},
      {"cats", "cat"},
      {"shipping", "ship"},
      {"shipped", "ship"},
      {"ships", "ship"},
      {"hopping", "hop"},
      {"hoping", "hope"},
      {"hoped", "hope"},
      {"rated", "rate"},
      {"rate", "rate"},
      {"agreed", "agre"},
      {"agree", "agre"},
      {"charged", "charg"},
      {"charge", "charg"},
      {"cancelled", "cancel"},
      {"cancel", "cancel"},
      {"falling", "fall"},
      {"quickly", "quick"},
      {"monthly", "month"},
      {"reply", "repli"},
      {"replies", "repli"},
      {"family", "famili"},
      {"sing", "sing"},
      {"feed", "feed"},
      {"bus", "bus"},
      {"gas", "gas"},
      {"is", "is"},
      // Snowball (Porter 2) goes past Porter's step 1: derivational suffixes go too.
      {"reservation", "reserv"},
      {"reservations", "reserv"},
      {"humanity", "human"},
      {"agents", "agent"},
      {"2024s", "2024s"},
      {"кеки", "кеки"},
  };
  for (auto& c : cases) {
    INFO(c.in);
    CHECK(stem_word(c.in) == c.out);
    CHECK(stem_word(c.in, "english") == c.out);
  }
}

TEST_CASE("stem_word stems French and Portuguese with their Snowball algorithms", "[text]") {
  CHECK(stem_word("chevaux", "french") == "cheval");
  CHECK(stem_word("cheval", "french") == "cheval");
  // Snowball French strips -ons only inside -ions, -erons, -assions...: here only the plural s.
  CHECK(stem_word("mangeons", "french") == "mangeon");
  CHECK(stem_word("manger", "french") == "mang");
  CHECK(stem_word("remboursements", "fr") == "rembours");
  CHECK(stem_word("rembourse", "fr") == "rembours");
  CHECK(stem_word("carros", "portuguese") == "carr");
  CHECK(stem_word("carro", "pt") == "carr");
  CHECK(stem_word("falando", "pt") == "fal");
  CHECK(stem_word("falar", "pt") == "fal");
  // English would leave them apart: the language matters.
  CHECK(stem_word("chevaux") == "chevaux");
  CHECK(stem_word("falando") == "falando");
  CHECK(stem_word("refunds", "klingon") == "refund"); // unknown language: English
}

TEST_CASE("stemmer_language maps a Chatwoot locale to a Snowball algorithm", "[text]") {
  CHECK(stemmer_language("en") == "en");
  CHECK(stemmer_language("fr") == "fr");
  CHECK(stemmer_language("pt_BR") == "pt");
  CHECK(stemmer_language("pt-BR") == "pt");
  CHECK(stemmer_language("DE") == "de");
  CHECK(stemmer_language("") == "english");
  CHECK(stemmer_language("xx_YY") == "english");
  CHECK(stemmer_language("tlh") == "english");
  CHECK(stem_word("chevaux", stemmer_language("fr_CA")) == "cheval");
}

TEST_CASE("stem_word keeps a stemmer per thread", "[text]") {
  std::vector<std::string> out(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < out.size(); ++i)
    threads.emplace_back([&out, i] {
      std::string all;
      for (int n = 0; n < 2000; ++n)
        all = stem_word(i % 2 == 0 ? "chevaux" : "falando", i % 2 == 0 ? "fr" : "pt");
      out[i] = all;
    });
  for (auto& t : threads)
    t.join();
  CHECK(out == std::vector<std::string>{"cheval", "fal", "cheval", "fal"});
}

TEST_CASE("analyze_text drops stopwords and stems", "[text]") {
  CHECK(analyze_text("How do I get my REFUNDS?") == strings{"refund"});
  CHECK(analyze_text("Réservations annulées") == strings{"reserv", "annule"});
  // Folded before stemming: typed with or without accents, the same terms.
  CHECK(analyze_text("réservations annulées", "fr") == analyze_text("reservations annulees", "fr"));
  // "Les" is a French stopword now (it was stemmed to "le" while the list was English only).
  CHECK(analyze_text("Les chevaux", "fr") == strings{"cheval"});
  CHECK(analyze_text("Les chevaux", "english") == strings{"les", "chevaux"});
  CHECK(analyze_text("the and of").empty());
}

TEST_CASE("split_sentences ends sentences at punctuation before white space and at blank lines",
          "[text]") {
  CHECK(split_sentences("One. Two!\n\nThree") == strings{"One.", "Two!", "Three"});
  // A single line break is a space; a full stop inside a word or number ends nothing.
  CHECK(split_sentences("Refunds take\n5 days. See v1.2 notes")
        == strings{"Refunds take 5 days.", "See v1.2 notes"});
  // A blank line ends a heading that has no full stop.
  CHECK(split_sentences("# Refunds\n\nWe pay back in 5 days.")
        == strings{"# Refunds", "We pay back in 5 days."});
  // An ellipsis ends a sentence; non-breaking spaces are trimmed.
  CHECK(split_sentences("Wait\xE2\x80\xA6 then go?\xC2\xA0 Yes")
        == strings{"Wait\xE2\x80\xA6", "then go?", "Yes"});
  CHECK(split_sentences("  \n\n ").empty());
}

TEST_CASE("is_stopword: each list's first and last word, by code and by name", "[text]") {
  // The lists are space-separated words; the ends of each show that none was cut off.
  using ends = std::array<const char*, 4>; // code, name, first word, last word
  for (auto e : {ends{"fr", "french", "a", "plait"}, ends{"pt", "portuguese", "a", "obrigada"},
                 ends{"es", "spanish", "a", "gracias"}, ends{"de", "german", "aber", "bitte"},
                 ends{"it", "italian", "a", "grazie"}, ends{"nl", "dutch", "aan", "bedankt"}}) {
    INFO(e[0]);
    for (auto language : {e[0], e[1]}) {
      CHECK(is_stopword(e[2], language));
      CHECK(is_stopword(e[3], language));
      CHECK_FALSE(is_stopword("", language));
      CHECK_FALSE(is_stopword("delivery", language));
    }
  }
}

TEST_CASE("is_stopword takes the list of the portal's language", "[text]") {
  // French: articles and prepositions are stopwords, in the code and the Snowball name.
  for (auto w : {"le", "la", "les", "des", "du", "de", "pour", "est", "ete"}) {
    CHECK(is_stopword(w, "fr"));
    CHECK(is_stopword(w, "french"));
  }
  CHECK_FALSE(is_stopword("paiement", "fr"));
  CHECK(is_stopword("nao", "pt"));
  CHECK(is_stopword("los", "es"));
  CHECK(is_stopword("und", "de"));
  CHECK(is_stopword("fur", "german")); // "für" folded
  CHECK(is_stopword("della", "it"));
  CHECK(is_stopword("het", "nl"));
  // English, and languages without a list, keep the English list.
  for (auto lang : {"english", "en", "ru", ""}) {
    CHECK(is_stopword("the", lang));
    CHECK_FALSE(is_stopword("refund", lang));
  }
  CHECK_FALSE(is_stopword("des", "english"));
  CHECK_FALSE(is_stopword("le", "english"));
}

TEST_CASE("analyze_text drops the stopwords of its language", "[text]") {
  CHECK(analyze_text("le remboursement des frais", "fr")
        == strings{stem_word("remboursement", "fr"), stem_word("frais", "fr")});
  // English is unchanged: "le" and "des" are no English stopwords, "the" is.
  CHECK(analyze_text("the le des refund") == strings{"le", "des", "refund"});
}

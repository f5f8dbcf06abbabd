"""The pure checks of the document kinds to come (ocr/documents.py): MRZ, driving licence,
business-card numbers and addresses, tables and text."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from mrz.checker.td3 import TD3CodeChecker

from ocr.documents import (
    car_class_codes,
    car_class_ok,
    character_error_rate,
    compose_td3,
    edit_distance,
    email_ok,
    fix_car_class,
    licence_dates_ok,
    licence_id_checks,
    licence_period_ok,
    mobile_ok,
    mrz_check_digit,
    mrz_check_ok,
    mrz_date,
    mrz_name,
    normalise_email,
    normalise_mobile,
    normalise_phone,
    parse_line2,
    parse_td3,
    split_numbers,
    table_cells_correct,
    table_shape,
    td3_agrees,
    website_ok,
    witnessed_code,
)

# The specimen of ICAO Doc 9303 part 4 (Utopia, Anna Maria Eriksson).
SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def _set(line: str, index: int, char: str) -> str:
    return line[:index] + char + line[index + 1 :]


def test_check_digits_of_the_icao_specimen() -> None:
    assert mrz_check_digit("L898902C3") == "6"
    assert mrz_check_digit("740812") == "2"
    assert mrz_check_digit("120415") == "9"
    assert mrz_check_digit("ZE184226B<<<<<") == "1"
    assert mrz_check_ok("<<<<<<<<<<<<<<", "<")
    assert not mrz_check_ok("ZE184226B<<<<<", "<")
    assert not mrz_check_ok("L898902C3", "7")


def test_parse_td3_reads_every_field_of_the_specimen() -> None:
    td3 = parse_td3(*SPECIMEN)
    assert td3 is not None
    assert td3.all_checks_ok and td3.corrected == ()
    assert (td3.surname, td3.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (td3.number, td3.nationality, td3.issuing_country) == ("L898902C3", "UTO", "UTO")
    assert (td3.birth, td3.sex, td3.expiry, td3.optional) == ("740812", "F", "120415", "ZE184226B")


def test_letters_after_the_given_names_two_fillers_are_fillers_misread() -> None:
    # Seed 8's turned photo 136: the closing fillers of a blurred line 1 read as E and R
    # after 'YINGYING<<'. ICAO 9303 sets two fillers only between surname and given names.
    line1 = "P<UTOERIKSSON<<ANNA<MARIA<<E<E<<EREE<RRE<<<<"
    td3 = parse_td3(line1, SPECIMEN[1])
    assert td3 is not None
    assert (td3.surname, td3.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert "line1" in td3.corrected


def test_parse_td3_rejects_what_is_no_td3() -> None:
    assert parse_td3(SPECIMEN[0][:20], SPECIMEN[1]) is None
    assert parse_td3(SPECIMEN[0], SPECIMEN[1][:40]) is None
    assert parse_td3("I" + SPECIMEN[0][1:], SPECIMEN[1]) is None


@pytest.mark.parametrize("seed", range(40))
def test_compose_td3_agrees_with_the_mrz_package(seed: int) -> None:
    rng = random.Random(seed)
    number = rng.choice("EGDSP") + "".join(rng.choice("0123456789") for _ in range(8))
    birth = f"{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    expiry = f"{rng.randint(27, 36):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    optional = "".join(rng.choice("ABCDEFGHIJKLMNOP<") for _ in range(rng.choice((0, 14))))
    line1, line2 = compose_td3(
        document_code="P",
        issuing_country="CHN",
        surname="ZHANG",
        given_names=rng.choice(("SAN", "XIAO MING", "JIAN-GUO")),
        number=number,
        nationality="CHN",
        birth=birth,
        sex=rng.choice("MF"),
        expiry=expiry,
        optional=optional,
    )
    assert bool(TD3CodeChecker(f"{line1}\n{line2}", check_expiry=False))
    parsed = parse_td3(line1, line2)
    assert parsed is not None and parsed.all_checks_ok and parsed.corrected == ()
    assert parsed.number == number


def test_mrz_number_with_a_letter_o_for_a_zero_is_corrected() -> None:
    td3 = parse_td3(SPECIMEN[0], _set(SPECIMEN[1], 5, "O"))  # L8989O2C3: the 0 read as O
    assert td3 is not None
    assert td3.number == "L898902C3" and td3.all_checks_ok and td3.corrected == ("number",)


def test_mrz_dates_with_letters_for_digits_are_corrected() -> None:
    line2 = SPECIMEN[1][:13] + "74O8IZ" + SPECIMEN[1][19:]  # 740812 read 74O8IZ
    td3 = parse_td3(SPECIMEN[0], line2)
    assert td3 is not None
    assert td3.birth == "740812" and td3.all_checks_ok and "birth" in td3.corrected


def test_mrz_optional_fillers_read_as_c_are_corrected() -> None:
    line2 = SPECIMEN[1][:37] + "C" + SPECIMEN[1][38:]  # ZE184226BC<<<<
    td3 = parse_td3(SPECIMEN[0], line2)
    assert td3 is not None
    assert td3.optional == "ZE184226B" and td3.all_checks_ok and td3.corrected == ("optional",)


def test_mrz_fillers_read_as_k_pass_the_check_and_are_kept() -> None:
    # K is worth 20, a filler 0: the same modulo 10, so no check digit can tell them
    # apart, and a reading that passes is never changed.
    line2 = SPECIMEN[1][:37] + "KK" + SPECIMEN[1][39:]
    td3 = parse_td3(SPECIMEN[0], line2)
    assert td3 is not None
    assert td3.optional == "ZE184226BKK" and td3.all_checks_ok and td3.corrected == ()


def test_mrz_name_fillers_read_as_k_and_digits_in_names_are_corrected() -> None:
    line1 = SPECIMEN[0][:30] + "K<<<C<<<" + SPECIMEN[0][38:]
    line1 = line1.replace("ERIKSSON", "ERIK55ON")
    td3 = parse_td3(line1, SPECIMEN[1])
    assert td3 is not None
    assert td3.line1 == SPECIMEN[0] and td3.surname == "ERIKSSON" and "line1" in td3.corrected


def test_mrz_name_ending_in_k_before_the_fillers_keeps_its_k() -> None:
    line1, line2 = compose_td3(
        document_code="P",
        issuing_country="GBR",
        surname="CLARK",
        given_names="",
        number="123456789",
        nationality="GBR",
        birth="800101",
        sex="M",
        expiry="300101",
    )
    td3 = parse_td3(line1, line2)
    assert td3 is not None and td3.surname == "CLARK" and td3.corrected == ()


def test_mrz_reading_that_passes_is_never_changed() -> None:
    # "O" in a number is legal: with its check digit right it stays an O.
    line1, line2 = compose_td3(
        document_code="P",
        issuing_country="D",
        surname="MUSTERMANN",
        given_names="ERIKA",
        number="C01X0O6T4",
        nationality="D",
        birth="640812",
        sex="F",
        expiry="270101",
    )
    td3 = parse_td3(line1, line2)
    assert td3 is not None and td3.number == "C01X0O6T4" and td3.corrected == ()


def test_mrz_ambiguous_misreading_is_left_as_read() -> None:
    # Find a number where two different single swaps both satisfy a wrong check digit:
    # no one reading wins, so the field stays as read and its check fails.
    for tail in range(10_000):
        number = f"E1S{tail:04d}8Z"  # S, 8 and Z each have a look-alike
        data = number
        passing = []
        for index, char in enumerate(data):
            swap = {"S": "5", "8": "B", "Z": "2"}.get(char)
            if swap:
                passing.append(data[:index] + swap + data[index + 1 :])
        checks = {mrz_check_digit(p) for p in passing}
        wrong = [c for c in "0123456789" if c != mrz_check_digit(data)]
        both = [c for c in wrong if sum(mrz_check_digit(p) == c for p in passing) >= 2]
        if both and checks:
            break
    else:
        pytest.fail("no ambiguous number found")
    line2 = number + both[0] + SPECIMEN[1][10:]
    td3 = parse_td3(SPECIMEN[0], line2)
    assert td3 is not None
    assert td3.number == number and not td3.checks["number"]


def test_mrz_fillers_miscounted_by_ocr_are_counted_again() -> None:
    # OCR reads a long run of '<' with a few too many or too few.
    td3 = parse_td3(SPECIMEN[0][:-3], SPECIMEN[1])
    assert td3 is not None and td3.line1 == SPECIMEN[0]
    td3 = parse_td3(SPECIMEN[0] + "<<", SPECIMEN[1])
    assert td3 is not None and td3.line1 == SPECIMEN[0]
    line1, line2 = compose_td3(
        document_code="P",
        issuing_country="GBR",
        surname="SMITH",
        given_names="JOHN",
        number="123456789",
        nationality="GBR",
        birth="800101",
        sex="M",
        expiry="300101",
    )
    short = line2.replace("<<<<<<<<<<<<<<", "<<<<<<<<<<<")
    td3 = parse_td3(line1, short)
    assert td3 is not None and td3.line2 == line2 and td3.all_checks_ok
    assert parse_td3(line1, short, correct=False) is None


def test_line1_read_far_short_is_filled_only_after_its_closing_fillers() -> None:
    """A turned, blurred photo read 'P<CHNZHOU<<YINGYING<<<<<<<' (27 characters): after
    three fillers in a row only fillers follow, so it is filled up, and marked so; cut
    within the names (no closing run) it is not."""
    cut = SPECIMEN[0][:30]
    td3 = parse_td3(cut, SPECIMEN[1])
    assert td3 is not None and td3.line1 == SPECIMEN[0] and td3.line1_filled
    assert parse_td3("P<UTOERIKSSON<<ANNA<MARIA", SPECIMEN[1]) is None
    near = parse_td3(SPECIMEN[0][:-3], SPECIMEN[1])
    assert near is not None and not near.line1_filled


def test_line2_alone_is_taken_only_when_every_check_digit_holds() -> None:
    _, line2 = compose_td3(
        document_code="P",
        issuing_country="CHN",
        surname="LI",
        given_names="MIN",
        number="E67096277",
        nationality="CHN",
        birth="500310",
        sex="F",
        expiry="360712",
    )
    td3 = parse_line2(line2)
    assert td3 is not None and not td3.names_read and td3.all_checks_ok
    assert (td3.number, td3.nationality, td3.birth, td3.sex, td3.expiry) == (
        "E67096277", "CHN", "500310", "F", "360712",
    )  # fmt: skip
    assert (td3.surname, td3.issuing_country) == ("", "")
    # The composite digit (the last) wrong: no reading.
    assert parse_line2(_set(line2, 43, str((int(line2[43]) + 1) % 10))) is None
    # A nationality outside ICAO's list ('UTO' of the specimen), which no digit covers.
    assert parse_line2(SPECIMEN[1]) is None


def test_a_country_code_off_the_list_takes_the_look_alike_a_witness_names() -> None:
    assert witnessed_code("O", {"D"}) == "D"  # Germany's D read as O
    assert witnessed_code("CMN", {"CHN", ""}) == "CHN"
    assert witnessed_code("CHN", {"D"}) == "CHN"  # on the list: kept
    assert witnessed_code("XYZ", {"CHN"}) == "XYZ"  # no look-alike of the witness


def test_mrz_fillers_read_as_angle_marks_are_fillers() -> None:
    line1 = SPECIMEN[0].replace("<<<<<<<<", ">>>>≤<<«", 1)
    td3 = parse_td3(line1, SPECIMEN[1])
    assert td3 is not None and td3.line1 == SPECIMEN[0] and td3.all_checks_ok


def test_mrz_date_century() -> None:
    today = dt.date(2026, 11, 1)
    assert mrz_date("740812", expiry=False, today=today) == "19740812"
    assert mrz_date("200101", expiry=False, today=today) == "20200101"
    assert mrz_date("341231", expiry=True, today=today) == "20341231"
    assert mrz_date("991301", expiry=True, today=today) == ""


def test_mrz_name_and_printed_zone_agreement() -> None:
    assert mrz_name("O'Brien-Smith Jr") == "OBRIEN<SMITH<JR"
    td3 = parse_td3(*SPECIMEN)
    assert td3 is not None
    printed = {"surname": "Eriksson", "given_names": "Anna Maria", "sex": "女"}
    printed |= {"birth": "19740812", "expiry": "20120415", "number": "L898902C3"}
    assert all(td3_agrees(td3, printed, today=dt.date(2010, 1, 1)).values())
    assert td3_agrees(td3, {"number": "L898902C8"}) == {"number": False}


def test_car_classes() -> None:
    assert car_class_codes("C1") == ["C1"]
    assert car_class_codes("A1A2") == ["A1", "A2"]
    assert car_class_codes("B2E") == ["B2", "E"]
    assert car_class_codes("c1 d") == ["C1", "D"]
    for bad in ("", "C7", "A4", "C1C1", "G", "C1X", "1C"):
        assert not car_class_ok(bad), bad
    assert fix_car_class("Cl") == "C1"
    assert fix_car_class("ＢＺ") == "B2"
    assert fix_car_class("Q9") == "Q9"


def test_licence_periods() -> None:
    assert licence_period_ok("2015-03-12", "2021-03-12")
    assert licence_period_ok("2021-03-12", "2031-03-12")
    assert licence_period_ok("2031-03-12", "长期")
    assert licence_period_ok("2016-02-29", "2022-02-28")
    assert not licence_period_ok("2015-03-12", "2020-03-12")
    assert not licence_period_ok("2015-03-12", "2021-03-13")
    assert not licence_period_ok("2015-13-12", "长期")


def test_licence_id_and_dates() -> None:
    id_num = "11010519491231002X"  # the GB 11643 example: a woman born 1949-12-31
    assert licence_id_checks(id_num, "1949-12-31", "女") == {
        "id_num": True,
        "birth_date": True,
        "sex": True,
    }
    assert licence_id_checks("110105194912310021", "1949-12-31", "男") == {
        "id_num": False,
        "birth_date": False,
        "sex": False,
    }
    assert all(licence_dates_ok("1990-05-01", "2010-06-01", "2016-06-01", "2026-06-01").values())
    young = licence_dates_ok("1995-05-01", "2010-06-01", "2009-06-01", "2015-06-01")
    assert young == {"issue_date": False, "valid_from": False, "valid_period": True}


def test_mobile_numbers() -> None:
    assert normalise_mobile("+86 138-1234-5678") == "13812345678"
    assert normalise_mobile("１３９ ００００ １１１１") == "13900001111"
    assert mobile_ok("19912345678") and mobile_ok("16612345678")
    for bad in ("12012345678", "1401234567", "1441234567a", "15412345678", "1381234567"):
        assert not mobile_ok(bad), bad


def test_phone_numbers() -> None:
    assert normalise_phone("(010) 8888 6666") == "010-88886666"
    assert normalise_phone("021-6123-4567 转 801") == "021-61234567-801"
    assert normalise_phone("021-61234567-801") == "021-61234567-801"  # its own form
    assert normalise_phone("0571-8765432") == "0571-8765432"
    assert normalise_phone("+86 755 2345 6789") == ""  # no leading 0 after +86
    assert normalise_phone("400 820 8820") == "400-820-8820"
    for bad in ("12345678", "010-123", "0571-0765432", "13812345678", "0193-39185693"):
        assert normalise_phone(bad) == "", bad


def test_emails_and_websites() -> None:
    assert normalise_email(" Zhang.San@Example.COM ") == "Zhang.San@example.com"
    assert email_ok("li@mail.example.com.cn")
    for bad in ("li@", "li@@a.cn", "li a@b.cn", "li@b"):
        assert not email_ok(bad), bad
    for good in ("www.example.com.cn", "https://example.cn/about", "http://a-b.com:8080/x"):
        assert website_ok(good), good
    for bad in ("www", "http://-a.com", "ftp://example.com", "www.example.c0m", "a b.com"):
        assert not website_ok(bad), bad
    assert split_numbers("13812345678; 010-88886666;") == ["13812345678", "010-88886666"]


def test_table_shape_and_cells() -> None:
    assert table_shape([["a", "b"], ["c", "d"]]) == (2, 2)
    assert table_shape([["a", "b"], ["c"]]) is None
    assert table_shape([]) is None
    expected = [["品名", "数量"], ["苹果", "3"]]
    assert table_cells_correct(expected, [["品名", "数量"], ["苹果", "8"]]) == (3, 4)
    assert table_cells_correct(expected, [["品名", "数量", ""], ["苹果", "3", ""]]) == (0, 4)


def test_text_error_rate() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert character_error_rate([("第一行\n第二行", "第一行\n第二行")]) == 0.0
    assert character_error_rate([("abcd", "abed"), ("xy", "")]) == pytest.approx(3 / 6)
